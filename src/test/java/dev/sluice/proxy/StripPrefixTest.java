package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import dev.sluice.sim.RecordedRequest;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code strip_prefix: true} removes the provider prefix of a model wherever the model names it (the body's
 * {@code model}, the id of {@code GET /v1/models/{id}}) and keeps the rest exactly as the caller wrote it.
 */
class StripPrefixTest {
  private final Harness harness = new Harness();
  private SimServer sim;
  private Sluice sluice;

  @BeforeEach
  void start(@TempDir Path dir) throws Exception {
    sim = harness.sim(SimConfig.defaults().withModels(List.of("gpt-4o", "meta/llama-3.3-70b-instruct")));
    sluice = harness.sluiceFromYaml("""
        upstream: %s
        pools:
          - name: openai
            aliases: [openai, nvidia]
            strip_prefix: true
            backends: [{id: oa-1, base_url: "%s"}]
        """.formatted(sim.baseUrl(), sim.baseUrl()), Map.of(), dir);
  }

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  private RecordedRequest lastSeenUpstream() {
    return sim.recentRequests().getLast();
  }

  /**
   * The path as the caller sends it, as the upstream must receive it (an encoded slash after the prefix counts as
   * the separator; the rest of the id keeps the caller's encoding; the query stays), and the id the upstream knows.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({
      "/v1/models/openai/gpt-4o,                             /v1/models/gpt-4o,                          gpt-4o",
      "/v1/models/OpenAI%2fgpt-4o?x=1,                       /v1/models/gpt-4o?x=1,                      gpt-4o",
      "/v1/models/nvidia%2Fmeta%2Fllama-3.3-70b-instruct,    /v1/models/meta%2Fllama-3.3-70b-instruct,   "
          + "meta/llama-3.3-70b-instruct"})
  void aModelByIdIsAskedForWithoutItsPrefix(String sent, String forwarded, String id) throws Exception {
    HttpResponse<String> response = harness.get(uri(sluice, sent));

    assertThat(lastSeenUpstream().path()).isEqualTo(forwarded);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("\"id\":\"" + id + "\"");
  }

  @Test
  void aModelOfNoPoolIsAskedForAsSent() throws Exception {
    harness.get(uri(sluice, "/v1/models/other/gpt-4o"));

    assertThat(lastSeenUpstream().path()).isEqualTo("/v1/models/other/gpt-4o");
  }

  /** The body's model as sent (JSON escapes and all), and as it must reach the upstream. */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "`\"openai/gpt-4o\"`          | `\"gpt-4o\"`",
      "`\"openai\\/gpt-4o\"`        | `\"gpt-4o\"`",
      "`\"openai\\u002fgpt-4o\"`    | `\"gpt-4o\"`",
      "`\"\\u006Fpenai/gpt-4o\"`    | `\"gpt-4o\"`",
      "`\"OPENAI\\u002Fgpt-4o\"`    | `\"gpt-4o\"`",
      "`\"openai/meta\\/llama\"`    | `\"meta\\/llama\"`",
      "`\"openai/caf\\u00e9\\n\"`   | `\"caf\\u00e9\\n\"`"})
  void aModelWrittenWithEscapesLosesOnlyItsPrefix(String sentModel, String forwardedModel) throws Exception {
    String body = "{\"model\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"openai/x\"}]}";

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), body.formatted(sentModel));

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(lastSeenUpstream().bodyText()).isEqualTo(body.formatted(forwardedModel));
  }
}
