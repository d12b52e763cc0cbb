package dev.sluice.sim;

import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Completion lengths against {@code max_tokens}, exact usage, and the stream's usage event. */
class SimCompletionTest {
  private final ManualClock clock = new ManualClock();
  private final List<SimServer> sims = new ArrayList<>();
  private final List<SimClient> clients = new ArrayList<>();

  private SimClient start(SimConfig config) {
    SimServer sim = SimServer.start(config, clock, "127.0.0.1", 0);
    sims.add(sim);
    SimClient client = new SimClient(sim);
    clients.add(client);
    return client;
  }

  @AfterEach
  void stop() {
    clients.forEach(SimClient::close);
    sims.forEach(SimServer::close);
  }

  /** A chat request with a prompt of 40 characters (10 tokens) and {@code extra} fields. */
  private static String chat(String extra) {
    return "{\"model\":\"m\"," + extra + "\"messages\":[{\"role\":\"user\",\"content\":\"" + "p".repeat(40) + "\"}]}";
  }

  private static String streamBody(SimClient client, String path, String body) throws Exception {
    HttpResponse<byte[]> response = client.sendBytes(client.request(path).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertThat(response.statusCode()).isEqualTo(200);
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  @Test
  void streamAskingForUsageHasUsageNullInEveryChunkThenTheUsageEvent() throws Exception {
    SimClient client = start(SimConfig.defaults().withCompletionTokens(2));

    String stream = streamBody(client, "/v1/chat/completions", "{\"model\":\"m\",\"stream\":true,"
        + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}");

    String head = "data: {\"id\":\"chatcmpl-sim-1\",\"object\":\"chat.completion.chunk\",\"created\":1767225601,"
        + "\"model\":\"m\",";
    assertThat(stream).isEqualTo(
        head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Sluice\"},"
            + "\"finish_reason\":null}],\"usage\":null}\n\n"
        + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" simulates\"},\"finish_reason\":null}],"
            + "\"usage\":null}\n\n"
        + head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
        + head + "\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2,\"total_tokens\":4}}\n\n"
        + "data: [DONE]\n\n");
  }

  @Test
  void streamNotAskingForUsageHasNoUsageFieldAnywhere() throws Exception {
    SimClient client = start(SimConfig.defaults().withCompletionTokens(2));

    String stream = streamBody(client, "/v1/chat/completions", "{\"model\":\"m\",\"stream\":true,"
        + "\"stream_options\":{\"include_usage\":false},\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}");

    String head = "data: {\"id\":\"chatcmpl-sim-1\",\"object\":\"chat.completion.chunk\",\"created\":1767225601,"
        + "\"model\":\"m\",";
    assertThat(stream).isEqualTo(
        head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Sluice\"},"
            + "\"finish_reason\":null}]}\n\n"
        + head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" simulates\"},\"finish_reason\":null}]}\n\n"
        + head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        + "data: [DONE]\n\n");
  }

  @Test
  void textCompletionStreamCarriesUsageOnlyWhenAsked() throws Exception {
    SimClient client = start(SimConfig.defaults().withCompletionTokens(3));

    String asked = streamBody(client, "/v1/completions", "{\"model\":\"m\",\"stream\":true,\"prompt\":\"abcdefgh\","
        + "\"stream_options\":{\"include_usage\":true}}");
    String notAsked =
        streamBody(client, "/v1/completions", "{\"model\":\"m\",\"stream\":true,\"prompt\":\"abcdefgh\"}");

    List<String> events = List.of(asked.split("\n\n"));
    assertThat(events).hasSize(3 + 1 + 1 + 1);
    assertThat(events.subList(0, 4)).allSatisfy(event -> assertThat(event).endsWith(",\"usage\":null}"));
    assertThat(events.get(4)).endsWith(
        "\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}}");
    assertThat(events.get(5)).isEqualTo("data: [DONE]");
    assertThat(notAsked.split("\n\n")).hasSize(3 + 1 + 1);
    assertThat(notAsked).doesNotContain("usage");
  }

  @Test
  void maxTokensModeAnswersExactlyTheRequestedMaximum() throws Exception {
    SimClient client = start(SimConfig.defaults().withCompletionMode(CompletionMode.MAX_TOKENS));

    JsonNode whole = json(client.post("/v1/chat/completions", chat("\"max_tokens\":37,")));
    JsonNode unbounded = json(client.post("/v1/chat/completions", chat("")));
    String stream = streamBody(client, "/v1/chat/completions", chat("\"stream\":true,\"max_tokens\":9,"
        + "\"max_completion_tokens\":5,\"stream_options\":{\"include_usage\":true},"));

    assertUsage(whole.get("usage"), 10, 37);
    assertThat(whole.get("choices").get(0).get("message").get("content").asText().split(" ")).hasSize(37);
    assertThat(whole.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
    assertUsage(unbounded.get("usage"), 10, 16);
    assertThat(unbounded.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    List<String> events = List.of(stream.split("\n\n"));
    assertThat(events).hasSize(5 + 1 + 1 + 1);
    assertThat(events.get(5)).contains("\"finish_reason\":\"length\"");
    assertUsage(SimClient.MAPPER.readTree(events.get(6).substring("data: ".length())).get("usage"), 10, 5);
  }

  @Test
  void fixedModeNeverExceedsTheMaximumAndFinishesWithLengthWhenItReachesIt() {
    SimClient client = start(SimConfig.defaults());

    JsonNode reached = json(client.post("/v1/chat/completions", chat("\"max_tokens\":16,")));
    JsonNode roomy = json(client.post("/v1/chat/completions", chat("\"max_tokens\":20,")));
    JsonNode forced = json(client.post("/v1/chat/completions", chat("\"max_completion_tokens\":20,"),
        "X-Sim-Chunks", "30"));

    assertUsage(reached.get("usage"), 10, 16);
    assertThat(reached.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
    assertUsage(roomy.get("usage"), 10, 16);
    assertThat(roomy.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    assertUsage(forced.get("usage"), 10, 20);
    assertThat(forced.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
  }

  @Test
  void uniformModeDrawsBetweenOneAndTheMaximumFromTheSeededDice() {
    SimConfig config = SimConfig.defaults().withCompletionMode(CompletionMode.UNIFORM).withSeed(7)
        .withCompletionTokens(3);
    List<Integer> first = uniformLengths(start(config));
    List<Integer> again = uniformLengths(start(config));

    assertThat(first).hasSize(41).isEqualTo(again);
    assertThat(first.subList(0, 40)).allSatisfy(n -> assertThat(n).isBetween(1, 10));
    assertThat(first.subList(0, 40)).contains(1, 10);
    assertThat(first.get(40)).isBetween(1, 3); // no max_tokens: up to completion_tokens
  }

  private List<Integer> uniformLengths(SimClient client) {
    List<Integer> lengths = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      JsonNode usage = json(client.post("/v1/chat/completions", chat("\"max_tokens\":10,"))).get("usage");
      assertUsage(usage, 10, usage.get("completion_tokens").asInt());
      lengths.add(usage.get("completion_tokens").asInt());
    }
    lengths.add(json(client.post("/v1/chat/completions", chat(""))).get("usage").get("completion_tokens").asInt());
    return lengths;
  }

  @Test
  void tokensPerMinuteCountTheCompletionTheCallWillGet() throws IOException {
    SimClient client = start(SimConfig.defaults().withCompletionMode(CompletionMode.MAX_TOKENS).withTpm(1000));

    HttpResponse<String> response = client.post("/v1/chat/completions", chat("\"max_tokens\":500,"));

    assertUsage(json(response).get("usage"), 10, 500);
    assertThat(response.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("490");
    assertThat(sims.getFirst().stats().acceptedTokens()).isEqualTo(510);
  }

  private static void assertUsage(JsonNode usage, int prompt, int completion) {
    assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(prompt);
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(completion);
    assertThat(usage.get("total_tokens").asInt()).isEqualTo(prompt + completion);
  }
}
