package dev.sluice.sim;

import static dev.sluice.sim.SimClient.errorBody;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SimApiTest {
  private final ManualClock clock = new ManualClock();
  private SimServer sim;
  private SimClient client;

  @BeforeEach
  void start() {
    sim = SimServer.start(SimConfig.defaults().withCompletionTokens(4), clock, "127.0.0.1", 0);
    client = new SimClient(sim);
  }

  @AfterEach
  void stop() {
    client.close();
    sim.close();
  }

  @Test
  void baseUrlPointsAtV1OnTheBoundPort() {
    assertThat(sim.port()).isPositive();
    assertThat(sim.baseUrl()).isEqualTo("http://127.0.0.1:" + sim.port() + "/v1");
  }

  @Test
  void chatCompletionHasOpenAiShapeAndUsage() {
    HttpResponse<String> response = client.post("/v1/chat/completions",
        "{\"model\":\"meta/llama-3.3-70b-instruct\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(40)
            + "\"}]}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(response.headers().firstValue("Content-Length")).hasValue(
        Integer.toString(response.body().getBytes(StandardCharsets.UTF_8).length));
    JsonNode body = json(response);
    assertThat(body.get("id").asText()).startsWith("chatcmpl-sim-");
    assertThat(body.get("object").asText()).isEqualTo("chat.completion");
    assertThat(body.get("created").asLong()).isEqualTo(clock.wallTimeMillis() / 1000);
    assertThat(body.get("model").asText()).isEqualTo("meta/llama-3.3-70b-instruct");
    JsonNode choice = body.get("choices").get(0);
    assertThat(choice.get("index").asInt()).isZero();
    assertThat(choice.get("message").get("role").asText()).isEqualTo("assistant");
    assertThat(choice.get("message").get("content").asText().split(" ")).hasSize(4);
    assertThat(choice.get("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = body.get("usage");
    assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(10);
    assertThat(usage.get("completion_tokens").asInt()).isEqualTo(4);
    assertThat(usage.get("total_tokens").asInt()).isEqualTo(14);
  }

  @Test
  void maxTokensCapsTheCompletionAndFinishesWithLength() {
    JsonNode body = json(client.post("/chat/completions",
        "{\"model\":\"m\",\"max_tokens\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

    assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(2);
    assertThat(body.get("choices").get(0).get("finish_reason").asText()).isEqualTo("length");
  }

  @Test
  void chunksHeaderOverridesTheCompletionLength() {
    JsonNode body = json(client.post("/v1/chat/completions", SimClient.chat("m"), "X-Sim-Chunks", "7"));

    assertThat(body.get("usage").get("completion_tokens").asInt()).isEqualTo(7);
  }

  @Test
  void chatStreamSendsOneEventPerTokenThenFinishUsageAndDone() throws Exception {
    HttpResponse<java.util.stream.Stream<String>> response = client.sendLines(client.request("/v1/chat/completions")
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true,"
            + "\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"12345678\"}]}"))
        .build());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("text/event-stream");
    assertThat(response.headers().firstValue("Content-Length")).isEmpty();
    List<String> lines = response.body().toList();
    List<String> events = new ArrayList<>();
    for (int i = 0; i < lines.size(); i += 2) {
      assertThat(lines.get(i)).startsWith("data: ");
      assertThat(lines.get(i + 1)).isEmpty();
      events.add(lines.get(i).substring("data: ".length()));
    }
    assertThat(events).hasSize(4 + 3).last().isEqualTo("[DONE]");
    StringBuilder content = new StringBuilder();
    for (int i = 0; i < 4; i++) {
      JsonNode chunk = SimClient.MAPPER.readTree(events.get(i));
      assertThat(chunk.get("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.get("id").asText()).startsWith("chatcmpl-sim-");
      assertThat(chunk.get("model").asText()).isEqualTo("m");
      JsonNode delta = chunk.get("choices").get(0).get("delta");
      assertThat(delta.has("role")).isEqualTo(i == 0);
      assertThat(chunk.get("choices").get(0).get("finish_reason").isNull()).isTrue();
      assertThat(chunk.get("usage").isNull()).isTrue();
      content.append(delta.get("content").asText());
    }
    assertThat(content.toString().split(" ")).hasSize(4);
    JsonNode finish = SimClient.MAPPER.readTree(events.get(4));
    assertThat(finish.get("choices").get(0).get("delta").isEmpty()).isTrue();
    assertThat(finish.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = SimClient.MAPPER.readTree(events.get(5));
    assertThat(usage.get("choices").isEmpty()).isTrue();
    assertThat(usage.get("usage").get("prompt_tokens").asInt()).isEqualTo(2);
    assertThat(usage.get("usage").get("completion_tokens").asInt()).isEqualTo(4);
    assertThat(usage.get("usage").get("total_tokens").asInt()).isEqualTo(6);
  }

  @Test
  void chatStreamWithoutIncludeUsageHasNoUsageEvent() throws Exception {
    List<String> lines = client.sendLines(client.request("/v1/chat/completions")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true,\"messages\":[]}"))
        .build()).body().filter(line -> !line.isEmpty()).toList();

    assertThat(lines).hasSize(4 + 2).noneMatch(line -> line.contains("usage"));
    assertThat(lines.getLast()).isEqualTo("data: [DONE]");
  }

  @Test
  void completionHasTextCompletionShape() {
    JsonNode body = json(client.post("/v1/completions", "{\"model\":\"m\",\"prompt\":\"Once upon a time\"}"));

    assertThat(body.get("id").asText()).startsWith("cmpl-sim-");
    assertThat(body.get("object").asText()).isEqualTo("text_completion");
    assertThat(body.get("choices").get(0).get("text").asText().split(" ")).hasSize(4);
    assertThat(body.get("choices").get(0).get("finish_reason").asText()).isEqualTo("stop");
    assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(4);
    assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(8);
  }

  @Test
  void completionStreamsTextChunksAndDone() throws Exception {
    List<String> events = client.sendLines(client.request("/v1/completions")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"prompt\":\"p\",\"stream\":true}"))
        .build()).body().filter(line -> !line.isEmpty()).map(line -> line.substring(6)).toList();

    assertThat(events).hasSize(4 + 2);
    JsonNode first = SimClient.MAPPER.readTree(events.getFirst());
    assertThat(first.get("object").asText()).isEqualTo("text_completion");
    assertThat(first.get("choices").get(0).get("text").asText()).isNotEmpty();
    assertThat(SimClient.MAPPER.readTree(events.get(4)).get("choices").get(0).get("finish_reason").asText())
        .isEqualTo("stop");
    assertThat(events.getLast()).isEqualTo("[DONE]");
  }

  @Test
  void embeddingsAreDeterministicPerInput() {
    String request = "{\"model\":\"e\",\"input\":[\"alpha\",\"beta\",\"alpha\"]}";
    JsonNode body = json(client.post("/v1/embeddings", request));
    JsonNode again = json(client.post("/v1/embeddings", request));

    assertThat(body.get("object").asText()).isEqualTo("list");
    assertThat(body.get("model").asText()).isEqualTo("e");
    assertThat(body.get("data")).hasSize(3);
    JsonNode alpha = body.get("data").get(0);
    assertThat(alpha.get("object").asText()).isEqualTo("embedding");
    assertThat(alpha.get("embedding")).hasSize(8);
    assertThat(body.get("data").get(2).get("embedding")).isEqualTo(alpha.get("embedding"));
    assertThat(body.get("data").get(1).get("embedding")).isNotEqualTo(alpha.get("embedding"));
    assertThat(again.get("data")).isEqualTo(body.get("data"));
    assertThat(body.get("usage").get("prompt_tokens").asInt()).isEqualTo(3);
    assertThat(body.get("usage").get("total_tokens").asInt()).isEqualTo(3);
  }

  @Test
  void embeddingsOfOneStringGiveOneVector() {
    JsonNode body = json(client.post("/embeddings", "{\"model\":\"e\",\"input\":\"hello\"}"));

    assertThat(body.get("data")).hasSize(1);
  }

  @Test
  void modelsListsTheConfiguredIds() {
    JsonNode body = json(client.get("/v1/models"));

    assertThat(body.get("object").asText()).isEqualTo("list");
    assertThat(body.get("data").findValuesAsText("id")).containsExactlyElementsOf(SimConfig.DEFAULT_MODELS);
    assertThat(body.get("data").get(1).get("owned_by").asText()).isEqualTo("nvidia");
  }

  @Test
  void modelByIdAcceptsSlashesAndAnswers404ForUnknown() {
    HttpResponse<String> found = client.get("/v1/models/nvidia/llama-3.1-nemotron-70b-instruct");
    HttpResponse<String> encoded = client.get("/v1/models/nvidia%2Fllama-3.1-nemotron-70b-instruct");
    HttpResponse<String> missing = client.get("/v1/models/acme/nope");

    assertThat(found.statusCode()).isEqualTo(200);
    assertThat(json(found).get("id").asText()).isEqualTo("nvidia/llama-3.1-nemotron-70b-instruct");
    assertThat(json(found).get("object").asText()).isEqualTo("model");
    assertThat(encoded.statusCode()).isEqualTo(200);
    assertThat(json(encoded).get("id").asText()).isEqualTo("nvidia/llama-3.1-nemotron-70b-instruct");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.body()).isEqualTo(
        errorBody("The model 'acme/nope' does not exist", "invalid_request_error", "model_not_found"));
  }

  @Test
  void echoReturnsTheBodyByteForByte() throws Exception {
    String body = "{\"model\":\"m\",\"x\":1e400,\"y\":-0.0,\"z\":12345678901234567890123,\"unknown\":{\"a\":[true,null]},"
        + "\"s\":\"caf\u00e9 \\u00e9\"}  \n";
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    HttpResponse<byte[]> response = client.sendBytes(client.request("/v1/echo/anything?q=1")
        .header("Content-Type", "application/json; charset=utf-8")
        .method("PUT", HttpRequest.BodyPublishers.ofByteArray(bytes)).build());

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(bytes);
    assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json; charset=utf-8");
    assertThat(response.headers().firstValue("X-Sim-Method")).hasValue("PUT");
    RecordedRequest recorded = sim.recentRequests().getLast();
    assertThat(recorded.method()).isEqualTo("PUT");
    assertThat(recorded.path()).isEqualTo("/v1/echo/anything?q=1");
    assertThat(recorded.body()).isEqualTo(bytes);
  }

  @Test
  void recordedRequestsKeepHeaderCaseOrderAndDuplicates() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      OutputStream out = socket.getOutputStream();
      out.write(("GET /echo HTTP/1.1\r\nHost: sim\r\nX-Trace-ID: one\r\nx-trace-id: two\r\nx-API-key: k\r\n"
          + "connection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      assertThat(in.readLine()).isEqualTo("HTTP/1.1 200 OK");
    }

    RecordedRequest recorded = sim.recentRequests().getLast();
    assertThat(recorded.headers()).containsExactly(
        new RecordedRequest.Header("Host", "sim"),
        new RecordedRequest.Header("X-Trace-ID", "one"),
        new RecordedRequest.Header("x-trace-id", "two"),
        new RecordedRequest.Header("x-API-key", "k"),
        new RecordedRequest.Header("connection", "close"));
    assertThat(recorded.headerValues("X-TRACE-ID")).containsExactly("one", "two");
  }

  @Test
  void recorderKeepsTheLast256NewestLastAndClears() {
    for (int i = 0; i < 260; i++) {
      assertThat(client.get("/v1/echo/" + i).statusCode()).isEqualTo(200);
    }

    List<RecordedRequest> recent = sim.recentRequests();
    assertThat(recent).hasSize(256);
    assertThat(recent.getFirst().path()).isEqualTo("/v1/echo/4");
    assertThat(recent.getLast().path()).isEqualTo("/v1/echo/259");
    sim.clearRecorded();
    assertThat(sim.recentRequests()).isEmpty();
  }

  @Test
  void malformedJsonAndMissingModelAnswer400InOpenAiShape() {
    HttpResponse<String> malformed = client.post("/v1/chat/completions", "{\"model\":");
    HttpResponse<String> noModel = client.post("/v1/chat/completions", "{\"messages\":[]}");

    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(malformed.body()).isEqualTo(errorBody("We could not parse the JSON body of your request. (HINT: "
        + "This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
        "invalid_request_error", null));
    assertThat(noModel.statusCode()).isEqualTo(400);
    assertThat(noModel.body()).isEqualTo(
        errorBody("you must provide a model parameter", "invalid_request_error", null));
    assertThat(sim.stats().accepted()).isZero();
  }

  @Test
  void embeddingsWithoutInputAnswer400() {
    HttpResponse<String> response = client.post("/v1/embeddings", "{\"model\":\"e\"}");

    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(response.body()).isEqualTo(
        errorBody("'input' is a required property", "invalid_request_error", null));
  }

  @Test
  void unknownPathAnswers404InOpenAiShape() {
    HttpResponse<String> response = client.get("/v1/nothing/here");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).isEqualTo(
        "{\"error\":{\"message\":\"Unknown path /v1/nothing/here\",\"type\":\"invalid_request_error\","
            + "\"code\":\"not_found\"}}");
  }

  @Test
  void wrongMethodOnAKnownPathAnswers405() {
    HttpResponse<String> response = client.get("/v1/chat/completions");

    assertThat(response.statusCode()).isEqualTo(405);
    assertThat(response.headers().firstValue("Allow")).hasValue("POST");
    assertThat(response.body()).isEqualTo(errorBody("Method GET is not allowed on /v1/chat/completions; use POST",
        "invalid_request_error", "method_not_allowed"));
  }

  @Test
  void startingOnABusyPortFailsNamingHostAndPort() {
    assertThatThrownBy(() -> SimServer.start(SimConfig.defaults(), clock, "127.0.0.1", sim.port()))
        .isInstanceOf(java.io.UncheckedIOException.class)
        .hasMessage("sim: cannot listen on 127.0.0.1:" + sim.port() + ": Failed to bind to /127.0.0.1:" + sim.port());
  }

  @Test
  void startingOnAPortOutOfRangeFailsNamingTheRange() {
    assertThatThrownBy(() -> SimServer.start(SimConfig.defaults(), clock, "127.0.0.1", 65_536))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("sim.port: 65536 is outside 0..65535");
  }

  @Test
  void statusHeaderForcesThatStatusWithAnOpenAiError() {
    HttpResponse<String> teapot = client.post("/v1/chat/completions", SimClient.chat("m"), "X-Sim-Status", "418");
    HttpResponse<String> badGateway = client.post("/v1/chat/completions", SimClient.chat("m"), "X-Sim-Status", "502");

    assertThat(teapot.statusCode()).isEqualTo(418);
    assertThat(teapot.body()).isEqualTo(
        errorBody("Simulated HTTP 418 (X-Sim-Status)", "invalid_request_error", null));
    assertThat(badGateway.statusCode()).isEqualTo(502);
    assertThat(badGateway.body()).isEqualTo(errorBody("Simulated HTTP 502 (X-Sim-Status)", "server_error", null));
  }

  @Test
  void invalidOverrideHeaderAnswers400NamingIt() {
    assertThat(refusal("X-Sim-Fault", "boom"))
        .isEqualTo("X-Sim-Fault: boom is not one of 500, 503, 429, reset, stall, stall-first-byte");
    assertThat(refusal("X-Sim-Ttft-Ms", "soon")).isEqualTo("X-Sim-Ttft-Ms: soon is not a whole number in 0..3600000");
    assertThat(refusal("X-Sim-Status", "200")).isEqualTo("X-Sim-Status: 200 is outside 400..599");
    assertThat(refusal("X-Sim-Chunks", "100001")).isEqualTo("X-Sim-Chunks: 100001 is outside 0..100000");
  }

  /** The message of the 400 a chat call with one malformed {@code X-Sim-*} header gets. */
  private String refusal(String header, String value) {
    HttpResponse<String> response = client.post("/v1/chat/completions", SimClient.chat("m"), header, value);

    assertThat(response.statusCode()).isEqualTo(400);
    String message = json(response).get("error").get("message").asText();
    assertThat(response.body()).isEqualTo(errorBody(message, "invalid_request_error", "invalid_sim_header"));
    return message;
  }
}
