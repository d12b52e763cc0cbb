package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.models.Model;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, pointed at Sluice, works as it does against OpenAI. */
class OpenAiSdkTest {
  private final Harness harness = new Harness();
  private OpenAIClient client;

  @BeforeEach
  void start() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withCompletionTokens(5));
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    client = OpenAIOkHttpClient.builder().baseUrl(sluice.baseUrl().toString()).apiKey("sk-caller").maxRetries(0)
        .build();
  }

  @AfterEach
  void stop() throws Exception {
    client.close();
    harness.close();
  }

  @Test
  void chatCompletion() {
    ChatCompletion completion = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model("nvidia/llama-3.1-nemotron-70b-instruct").addUserMessage("Hello").build());

    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().getFirst().message().content()).hasValueSatisfying(
        text -> assertThat(text).isNotBlank());
    assertThat(completion.usage()).hasValueSatisfying(usage -> assertThat(usage.completionTokens()).isEqualTo(5));
  }

  @Test
  void streamingChatCompletion() {
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
        .model("nvidia/llama-3.1-nemotron-70b-instruct").addUserMessage("Hello")
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    List<String> deltas = new ArrayList<>();
    List<Long> usage = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> {
        chunk.choices().forEach(choice -> choice.delta().content().ifPresent(deltas::add));
        chunk.usage().ifPresent(u -> usage.add(u.totalTokens()));
      });
    }

    assertThat(deltas).hasSizeGreaterThanOrEqualTo(5);
    assertThat(usage).singleElement().satisfies(total -> assertThat(total).isPositive());
  }

  @Test
  void embeddings() {
    CreateEmbeddingResponse response = client.embeddings().create(EmbeddingCreateParams.builder()
        .model("nvidia/nv-embed").input("hello world").build());

    assertThat(response.data()).singleElement()
        .satisfies(embedding -> assertThat(embedding.embedding()).isNotEmpty());
  }

  @Test
  void models() {
    List<Model> models = client.models().list().data();
    Model one = client.models().retrieve("nvidia/llama-3.1-nemotron-70b-instruct");

    assertThat(models).extracting(Model::id).contains("nvidia/llama-3.1-nemotron-70b-instruct");
    assertThat(one.id()).isEqualTo("nvidia/llama-3.1-nemotron-70b-instruct");
  }
}
