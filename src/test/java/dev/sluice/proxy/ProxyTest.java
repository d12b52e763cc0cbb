package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.RecordedRequest;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.MatchResult;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ProxyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ODD_BODY = "{\"model\":\"nvidia/llama\",  \"messages\":[{\"role\":\"user\",\"content\":"
      + "\"h\\u00e9llo \\\"q\\\" ✓\"}],\"temperature\":1e400,\"top_p\":-0.0,\"seed\":123456789012345678901234567890,"
      + "\"x_unknown\":{\"nested\":[1.50,2E-7,null]}}";
  private final Harness harness = new Harness();

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  private static Optional<String> header(RecordedRequest request, String name) {
    return request.headers().stream().filter(h -> h.name().equalsIgnoreCase(name)).map(h -> h.value()).findFirst();
  }

  /** Sluice's own error body, as OpenAiError writes it (the strings here need no JSON escaping). */
  private static String errorBody(String message, String type, String code) {
    return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"" + type + "\",\"code\":\"" + code + "\"}}";
  }

  /** An error Sluice answered itself: this status, JSON, and exactly this body. */
  private static void assertError(HttpResponse<String> response, int status, String body) {
    assertThat(response.statusCode()).isEqualTo(status);
    assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void requestAndResponseBodiesPassByteForByte() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/echo/anything"), ODD_BODY);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(ODD_BODY);
    RecordedRequest upstream = sim.recentRequests().getLast();
    assertThat(new String(upstream.body(), StandardCharsets.UTF_8)).isEqualTo(ODD_BODY);
    assertThat(upstream.path()).isEqualTo("/v1/echo/anything");
  }

  @Test
  void chatCompletionBodyReachesTheUpstreamUntouched() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), ODD_BODY);

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(response.body()).get("object").asText()).isEqualTo("chat.completion");
    assertThat(sim.recentRequests().getLast().body()).isEqualTo(ODD_BODY.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void sharedV1IsNeverDoubled() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    assertThat(harness.get(uri(sluice, "/v1/echo/files")).statusCode()).isEqualTo(200);
    assertThat(harness.get(uri(sluice, "/v1/echo/files?limit=2")).statusCode()).isEqualTo(200);

    List<RecordedRequest> seen = sim.recentRequests();
    assertThat(seen.get(0).path()).isEqualTo("/v1/echo/files");
    assertThat(seen.get(1).path()).isEqualTo("/v1/echo/files?limit=2");
  }

  @Test
  void backendKeyReplacesCallersAuthorizationAndSluiceHeadersStayBehind() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_API_KEY", "nvapi-backend-key"));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/llama\",\"messages\":[]}",
        "Authorization", "Bearer caller-key", "X-Priority", "urgent", "X-Sluice-Debug", "1",
        "X-Custom", "kept", "Proxy-Authorization", "Basic eA==", "X-Request-Id", "req-123");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("X-Sluice-Request-Id")).contains("req-123");
    RecordedRequest upstream = sim.recentRequests().getLast();
    assertThat(header(upstream, "Authorization")).contains("Bearer nvapi-backend-key");
    assertThat(upstream.headers().stream().filter(h -> h.name().equalsIgnoreCase("Authorization"))).hasSize(1);
    assertThat(header(upstream, "X-Priority")).isEmpty();
    assertThat(header(upstream, "X-Sluice-Debug")).isEmpty();
    assertThat(header(upstream, "Proxy-Authorization")).isEmpty();
    assertThat(header(upstream, "X-Custom")).contains("kept");
    assertThat(header(upstream, "X-Request-Id")).contains("req-123");
    assertThat(header(upstream, "Host")).contains("127.0.0.1:" + sim.port());
  }

  @Test
  void callersAuthorizationPassesWhenTheBackendHasNoKey() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/llama\",\"messages\":[]}",
        "Authorization", "Bearer caller-key");

    assertThat(header(sim.recentRequests().getLast(), "Authorization")).contains("Bearer caller-key");
  }

  @Test
  void headersNamedByConnectionAreHopByHop() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    try (Socket socket = new Socket("127.0.0.1", sluice.port())) {
      String body = "{\"model\":\"m\"}";
      socket.getOutputStream().write(("POST /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close, X-Hop\r\n"
          + "X-Hop: secret-hop\r\nKeep-Alive: timeout=5\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
      String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(reply).startsWith("HTTP/1.1 200").endsWith(body);
    }
    RecordedRequest upstream = sim.recentRequests().getLast();
    assertThat(header(upstream, "X-Hop")).isEmpty();
    assertThat(header(upstream, "Keep-Alive")).isEmpty();
  }

  @Test
  void pipelinedRequestsOnOneConnectionAreAnsweredInOrder() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    StringBuilder pipeline = new StringBuilder();
    List<String> bodies = List.of("{\"model\":\"m\",\"n\":1}", "{\"model\":\"m\",\"n\":2}", "{\"model\":\"m\",\"n\":3}");
    for (String body : bodies) {
      pipeline.append("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ")
          .append(body.length()).append("\r\n\r\n").append(body);
    }
    pipeline.append("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        + "Connection: close\r\nContent-Length: 2\r\n\r\nhi");
    try (Socket socket = new Socket("127.0.0.1", sluice.port())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(pipeline.toString().getBytes(StandardCharsets.US_ASCII));
      String replies = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      List<String> statusLines = Pattern.compile("HTTP/1\\.1 \\d{3}").matcher(replies).results()
          .map(MatchResult::group).toList();
      assertThat(statusLines).containsExactly("HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 200", "HTTP/1.1 400");
      assertThat(replies.indexOf(bodies.get(0))).isLessThan(replies.indexOf(bodies.get(1)));
      assertThat(replies.indexOf(bodies.get(1))).isLessThan(replies.indexOf(bodies.get(2)));
      assertThat(replies).endsWith("\r\n\r\n" + errorBody("Content-Type must be application/json, got text/plain.",
          "invalid_request_error", "unsupported_content_type"));
    }
  }

  @Test
  void modelPrefixRoutesToItsPoolAndEverythingElseIsPassthrough(@TempDir Path dir) throws Exception {
    SimServer passthrough = harness.sim();
    SimServer pooled = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        upstream: %s
        pools:
          - name: nvidia
            aliases: [nvidia, nvidia-gateway, nvidiavx]
            backends: [{id: nv-1, base_url: "%s", api_key_env: NV_KEY}]
        """.formatted(passthrough.baseUrl(), pooled.baseUrl()), Map.of("NV_KEY", "nvapi-pool"), dir);

    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"NVIDIAVX/meta/llama\",\"messages\":[]}");
    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"openai/gpt-4o\",\"messages\":[]}",
        "Authorization", "Bearer caller");
    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"gpt-4o\",\"messages\":[]}");

    assertThat(pooled.recentRequests()).singleElement()
        .satisfies(r -> assertThat(header(r, "Authorization")).contains("Bearer nvapi-pool"));
    assertThat(passthrough.recentRequests()).hasSize(2)
        .allSatisfy(r -> assertThat(header(r, "Authorization").orElse("")).doesNotContain("nvapi-pool"));
    assertThat(header(passthrough.recentRequests().getFirst(), "Authorization")).contains("Bearer caller");
  }

  @Test
  void stripPrefixRewritesOnlyTheModel(@TempDir Path dir) throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        pools:
          - name: nvidia
            strip_prefix: true
            backends: [{id: nv-1, base_url: "%s"}]
        """.formatted(sim.baseUrl()), Map.of(), dir);

    harness.post(uri(sluice, "/v1/chat/completions"), ODD_BODY);

    assertThat(new String(sim.recentRequests().getLast().body(), StandardCharsets.UTF_8))
        .isEqualTo(ODD_BODY.replace("\"nvidia/llama\"", "\"llama\""));
  }

  @Test
  void eachStreamedChunkReachesTheCallerBeforeTheUpstreamWritesTheNext() throws Exception {
    try (ScriptedUpstream upstream = new ScriptedUpstream()) {
      Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", upstream.baseUrl()));
      try (Socket caller = sendRaw(sluice, chatRequest("{\"model\":\"nvidia/llama\",\"stream\":true}"))) {
        BufferedReader reader = new BufferedReader(new InputStreamReader(caller.getInputStream(),
            StandardCharsets.UTF_8));
        ScriptedUpstream.Call call = upstream.next().status(200, "text/event-stream");

        // Lock step: a proxy that buffered would hold each event back, and the caller's read would time out.
        for (int i = 0; i < 3; i++) {
          String event = "data: {\"n\":" + i + "}";
          call.write(event + "\n\n");
          assertThat(nextEvent(reader)).isEqualTo(event);
        }
        call.end("data: [DONE]\n\n");
        assertThat(nextEvent(reader)).isEqualTo("data: [DONE]");
      }
    }
  }

  /** Reads the response up to its next SSE data line (the socket's read timeout bounds the wait). */
  private static String nextEvent(BufferedReader reader) throws IOException {
    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
      if (line.startsWith("data:")) {
        return line;
      }
    }
    throw new EOFException("the response ended before the next event");
  }

  @Test
  void bodyOverTheLimitIsRefusedWith413() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_MAX_BODY_BYTES", "2048"));
    String big = "{\"model\":\"nvidia/x\",\"pad\":\"" + "a".repeat(3000) + "\"}";

    HttpResponse<String> declared = harness.post(uri(sluice, "/v1/chat/completions"), big);
    HttpResponse<String> chunked = harness.http.send(HttpRequest.newBuilder(uri(sluice, "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofInputStream(
            () -> new java.io.ByteArrayInputStream(big.getBytes(StandardCharsets.UTF_8))))
        .build(), HttpResponse.BodyHandlers.ofString());

    String tooLarge = errorBody("The request body is larger than the limit of 2048 bytes.", "invalid_request_error",
        "request_too_large");
    assertError(declared, 413, tooLarge);
    assertError(chunked, 413, tooLarge);
    assertThat(sim.recentRequests()).isEmpty();
  }

  @Test
  void unreachableUpstreamGives502() throws Exception {
    int port = Harness.closedPort();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + port + "/v1",
        "SIDECAR_API_KEY", "nvapi-must-not-leak"));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/x\"}");

    assertError(response, 502, errorBody("Could not connect to the upstream 127.0.0.1:" + port + ".", "upstream_error",
        "upstream_connect_failed"));
  }

  @Test
  void silentUpstreamGives504BeforeTheFirstByte() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_TIMEOUT", "1"));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/x\"}",
        "X-Sim-Ttft-Ms", "600000");

    assertError(response, 504, errorBody("The upstream 127.0.0.1:" + sim.port() + " did not answer within 1 s.",
        "upstream_error", "upstream_timeout"));
  }

  @Test
  void streamThatGoesSilentEndsCleanlyAfterTheTimeout() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withCompletionTokens(8).withStallMillis(10_000));
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_TIMEOUT", "1"));
    HttpRequest request = HttpRequest.newBuilder(uri(sluice, "/v1/chat/completions"))
        .header("Content-Type", "application/json").header("X-Sim-Fault", "stall")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"nvidia/x\",\"stream\":true}")).build();

    HttpResponse<String> response = harness.http.send(request, HttpResponse.BodyHandlers.ofString());

    // The sim resumes after 10 s and ends with [DONE]; without it the response ended at Sluice's timeout, cleanly
    // (a cut connection would fail the read of the body).
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).contains("data: {").doesNotContain("[DONE]");
    await().atMost(Duration.ofSeconds(30)).until(() -> errorCount(sluice, "upstream_timeout") == 1);
  }

  @Test
  void longStreamThatKeepsFlowingIsNeverCut() throws Exception {
    // 3 s of chunks 250 ms apart: longer than the 2 s timeout in all, never silent for as long.
    SimServer sim = harness.sim(SimConfig.defaults().withPerTokenMillis(250).withCompletionTokens(12));
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_TIMEOUT", "2"));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/x\",\"stream\":true}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).endsWith("data: [DONE]\n\n");
  }

  @Test
  void callerDisconnectAbortsTheUpstreamExchange() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withPerTokenMillis(50).withCompletionTokens(10_000));
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    String body = "{\"model\":\"nvidia/x\",\"stream\":true}";
    try (Socket socket = new Socket("127.0.0.1", sluice.port())) {
      OutputStream out = socket.getOutputStream();
      out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
      BufferedReader reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      int events = 0;
      String line;
      while (events < 3 && (line = reader.readLine()) != null) {
        if (line.startsWith("data:")) {
          events++;
        }
      }
      assertThat(events).isEqualTo(3);
    }
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertThat(sim.stats().inFlight()).isZero();
      assertThat(sim.stats().clientDisconnects()).isEqualTo(1);
    });
  }

  private static Socket sendRaw(Sluice sluice, String requests) throws IOException {
    Socket socket = new Socket("127.0.0.1", sluice.port());
    socket.setSoTimeout(20_000);
    socket.getOutputStream().write(requests.getBytes(StandardCharsets.US_ASCII));
    return socket;
  }

  private static String chatRequest(String body, String... headers) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + String.join("", Arrays.stream(headers).map(h -> h + "\r\n").toList())
        + "Content-Length: " + body.length() + "\r\n\r\n" + body;
  }

  private long clientDisconnects(Sluice sluice) throws Exception {
    return errorCount(sluice, "client_disconnected");
  }

  private long errorCount(Sluice sluice, String kind) throws Exception {
    return JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/errors/" + kind).asLong();
  }

  @Test
  void callerThatHangsUpWhileTheModelThinksAbortsTheUpstreamAttempt() throws Exception {
    try (ScriptedUpstream upstream = new ScriptedUpstream()) {
      Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", upstream.baseUrl()));
      ScriptedUpstream.Call call;
      try (Socket caller = sendRaw(sluice, chatRequest("{\"model\":\"nvidia/x\",\"stream\":true}"))) {
        call = upstream.next().status(200, "text/event-stream");
      }

      // The upstream never answers, so no write to the caller can tell Sluice that it left: only watching the
      // caller's connection can. Sluice then drops the upstream attempt, and the upstream's writes fail.
      await().atMost(Duration.ofSeconds(30)).until(() -> clientDisconnects(sluice) == 1);
      assertThat(call.writeFails("data: {}\n\n", 1_000)).isTrue();
    }
  }

  @Test
  void callerThatHangsUpWhileQueuedLeavesTheQueueAndIsNeverSent() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_RATE_RPM", "1",
        "SIDECAR_BUCKET_CAPACITY", "1"));
    assertThat(harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/x\"}").statusCode())
        .isEqualTo(200); // the bucket's only token: the next request waits about a minute
    try (Socket caller = sendRaw(sluice, chatRequest("{\"model\":\"nvidia/x\"}"))) {
      await().atMost(Duration.ofSeconds(30)).until(() -> queueSize(sluice) == 1);
    }

    await().atMost(Duration.ofSeconds(30)).until(() -> queueSize(sluice) == 0);
    assertThat(clientDisconnects(sluice)).isEqualTo(1);
    assertThat(sim.stats().accepted()).isEqualTo(1);
  }

  private int queueSize(Sluice sluice) throws Exception {
    return JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools/0/queue/size").asInt();
  }

  @Test
  void aRequestPipelinedWhileTheFirstWaitsIsKeptAndAnsweredAfterIt() throws Exception {
    try (ScriptedUpstream upstream = new ScriptedUpstream()) {
      Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", upstream.baseUrl()));
      String echoBody = "{\"model\":\"m\",\"second\":true}";
      try (Socket caller = sendRaw(sluice, chatRequest("{\"model\":\"nvidia/x\"}"))) {
        ScriptedUpstream.Call first = upstream.next();
        // Sent while the first waits for its answer: Sluice reads it early (watching the caller) and must keep it.
        // For half a second it must not go upstream, which it would if it were taken for a request of its own.
        caller.getOutputStream().write(("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + "Connection: close\r\nContent-Length: " + echoBody.length() + "\r\n\r\n" + echoBody)
            .getBytes(StandardCharsets.US_ASCII));
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(30)).until(() -> upstream.waiting() == 0);
        first.status(200, "application/json").end("{\"object\":\"chat.completion\"}");
        ScriptedUpstream.Call second = upstream.next();
        assertThat(second.pathQuery).isEqualTo("/v1/echo");
        second.status(200, "application/json").end(echoBody);
        String replies = new String(caller.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

        assertThat(Pattern.compile("HTTP/1\\.1 \\d{3}").matcher(replies).results().map(MatchResult::group).toList())
            .containsExactly("HTTP/1.1 200", "HTTP/1.1 200");
        assertThat(replies.indexOf("chat.completion")).isLessThan(replies.indexOf(echoBody));
      }
      assertThat(clientDisconnects(sluice)).isZero();
    }
  }

  @Test
  void upstreamErrorsPassThroughAsTheUpstreamSentThem() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/x\"}",
        "X-Sim-Status", "503");

    // Byte for byte what the sim sent, down to its null code.
    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.body()).isEqualTo("{\"error\":{\"message\":\"Simulated HTTP 503 (X-Sim-Status)\","
        + "\"type\":\"server_error\",\"code\":null}}");
  }

  private static final String NOT_JSON = "The request body is not a valid JSON object.";
  private static final String NO_MODEL = "You must provide a model parameter (a non-empty string).";

  static Stream<Arguments> badInputs() {
    return Stream.of(
        Arguments.of("application/json", "{\"model\":", "invalid_json", NOT_JSON),
        Arguments.of("application/json", "[1,2]", "invalid_json", NOT_JSON),
        Arguments.of("application/json", "{\"messages\":[]}", "missing_model", NO_MODEL),
        Arguments.of("application/json", "{\"model\":\"\"}", "missing_model", NO_MODEL),
        Arguments.of("application/json", "{\"model\":7}", "missing_model", NO_MODEL),
        Arguments.of("text/plain", "{\"model\":\"nvidia/x\"}", "unsupported_content_type",
            "Content-Type must be application/json, got text/plain."),
        Arguments.of("application/x-www-form-urlencoded", "model=x", "unsupported_content_type",
            "Content-Type must be application/json, got application/x-www-form-urlencoded."),
        Arguments.of("application/json", "", "missing_body", "The request body is empty; expected a JSON object."));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("badInputs")
  void badInputGetsAn400OpenAiErrorAndNeverReachesTheUpstream(String contentType, String body, String code,
      String message) throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    for (String path : List.of("/v1/chat/completions", "/v1/completions", "/v1/embeddings")) {
      HttpResponse<String> response = harness.http.send(HttpRequest.newBuilder(uri(sluice, path))
          .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertError(response, 400, errorBody(message, "invalid_request_error", code));
    }
    assertThat(sim.recentRequests()).isEmpty();
  }

  @Test
  void hugeHeadersGet431InOpenAiShape() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    try (Socket socket = new Socket("127.0.0.1", sluice.port())) {
      socket.getOutputStream().write(("GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(40_000)
          + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(reply).startsWith("HTTP/1.1 431 ").endsWith("\r\n\r\n" + errorBody("Request Header Fields Too Large.",
          "invalid_request_error", "request_header_fields_too_large"));
    }
    assertThat(sim.recentRequests()).isEmpty();
  }

  @Test
  void headersAndBodiesLargerThanOneReadBufferPassWhole() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    String bigHeader = "h".repeat(12_000);
    String body = "{\"model\":\"m\",\"input\":\"" + "x".repeat(300_000) + "\"}";
    HttpResponse<String> response = harness.post(uri(sluice, "/v1/echo"), body, "X-Big", bigHeader);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(body);
    assertThat(header(sim.recentRequests().getLast(), "X-Big")).contains(bigHeader);
  }

  @Test
  void garbageRequestLineGets400InOpenAiShape() throws Exception {
    Sluice sluice = harness.sluice(Map.of());
    try (Socket socket = new Socket("127.0.0.1", sluice.port())) {
      socket.getOutputStream().write("BLAH\u0001 / HTTP/9\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(reply).startsWith("HTTP/1.1 400 ").endsWith("\r\n\r\n" + errorBody("Bad Request.",
          "invalid_request_error", "bad_request"));
    }
  }

  @Test
  void healthReadyAndStatusDescribeTheProcess() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_API_KEY", "nvapi-hidden"));
    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"nvidia/x\"}");
    harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":\"other/x\"}");
    harness.post(uri(sluice, "/v1/chat/completions"), "{}");

    JsonNode health = JSON.readTree(harness.get(uri(sluice, "/health")).body());
    HttpResponse<String> ready = harness.get(uri(sluice, "/health/ready"));
    HttpResponse<String> status = harness.get(uri(sluice, "/status"));

    assertThat(health.get("status").asText()).isEqualTo("ok");
    assertThat(health.get("uptime").isNumber()).isTrue();
    assertThat(health.get("version").asText()).isNotBlank();
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(ready.body()).get("upstream_reachable").asBoolean()).isTrue();
    JsonNode requests = JSON.readTree(status.body()).get("requests");
    assertThat(requests.get("total").asLong()).isEqualTo(3);
    assertThat(requests.get("shaped").asLong()).isEqualTo(1);
    assertThat(requests.get("passthrough").asLong()).isEqualTo(1);
    assertThat(requests.get("rejected_invalid").asLong()).isEqualTo(1);
    assertThat(status.body()).doesNotContain("nvapi-hidden");
  }

  @Test
  void readinessFailsWhenTheUpstreamIsDown() throws Exception {
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + Harness.closedPort() + "/v1"));

    HttpResponse<String> ready = harness.get(uri(sluice, "/health/ready"));

    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(ready.headers().firstValue("Retry-After")).contains("5");
    assertThat(JSON.readTree(ready.body()).get("ready").asBoolean()).isFalse();
  }

  @Test
  void readinessGivesUpOnAnUpstreamThatNeverAnswersAfterFiveSeconds() throws Exception {
    // The kernel completes the connection from the listen backlog; nothing ever reads or answers.
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + silent.getLocalPort() + "/v1"));

      long start = System.nanoTime();
      HttpResponse<String> ready = harness.get(uri(sluice, "/health/ready"));
      long waitedMillis = (System.nanoTime() - start) / 1_000_000;

      // The answer comes at all (the request times out after 20 s), and not before the probe's timeout.
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(JSON.readTree(ready.body()).get("ready").asBoolean()).isFalse();
      assertThat(waitedMillis).isGreaterThanOrEqualTo(UpstreamProbe.TIMEOUT_SECONDS * 1000);
    }
  }

  @Test
  void embeddingsAndModelByIdAreRelayed() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> embeddings = harness.post(uri(sluice, "/v1/embeddings"),
        "{\"model\":\"nvidia/embed\",\"input\":\"hello\"}");
    HttpResponse<String> model = harness.get(uri(sluice, "/v1/models/nvidia/llama-3.1-nemotron-70b-instruct"));

    assertThat(embeddings.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(embeddings.body()).get("data").get(0).get("embedding").isArray()).isTrue();
    assertThat(model.statusCode()).isEqualTo(200);
    assertThat(JSON.readTree(model.body()).get("id").asText()).isEqualTo("nvidia/llama-3.1-nemotron-70b-instruct");
  }

  @Test
  void anyMethodAndPathIsProxied() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> put = harness.http.send(HttpRequest.newBuilder(uri(sluice, "/v1/echo/files/abc?purpose=x"))
        .header("Content-Type", "text/plain").PUT(HttpRequest.BodyPublishers.ofString("raw text")).build(),
        HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> delete = harness.http.send(HttpRequest.newBuilder(uri(sluice, "/v1/echo/files/abc"))
        .DELETE().build(), HttpResponse.BodyHandlers.ofString());

    assertThat(put.statusCode()).isEqualTo(200);
    assertThat(put.body()).isEqualTo("raw text");
    assertThat(put.headers().firstValue("X-Sim-Method")).contains("PUT");
    assertThat(delete.headers().firstValue("X-Sim-Method")).contains("DELETE");
    assertThat(sim.recentRequests().getFirst().path()).isEqualTo("/v1/echo/files/abc?purpose=x");
  }
}
