package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static dev.sluice.sim.SimClient.errorBody;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.sluice.time.ManualClock;
import java.io.BufferedReader;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SimFaultsTest {
  private final ManualClock clock = new ManualClock();
  private final ManualSleeper sleeper = new ManualSleeper(clock);
  private final List<SimServer> servers = new ArrayList<>();

  /** A sim whose latency and stalls pass only when the test advances the clock. */
  private SimServer start(SimConfig config) {
    return started(SimServer.start(config, clock, sleeper, "127.0.0.1", 0));
  }

  /** A sim whose latency and stalls last real time. */
  private SimServer startInRealTime(SimConfig config) {
    return started(SimServer.start(config, clock, "127.0.0.1", 0));
  }

  private SimServer started(SimServer sim) {
    servers.add(sim);
    return sim;
  }

  @AfterEach
  void stop() {
    servers.forEach(SimServer::close);
  }

  /** Sends {@code n} chat calls one after another; "200", "500" or "reset" for each. */
  private static List<String> outcomes(SimServer sim, int n) {
    List<String> outcomes = new ArrayList<>();
    try (SimClient client = new SimClient(sim)) {
      for (int i = 0; i < n; i++) {
        try {
          outcomes.add(Integer.toString(client.post("/v1/chat/completions", chat("m")).statusCode()));
        } catch (UncheckedIOException e) {
          outcomes.add("reset");
        }
      }
    }
    return outcomes;
  }

  @Test
  void errorAndResetFaultsAreDeterministicBySeed() {
    SimConfig config = SimConfig.defaults().withErrorRate(0.3).withResetRate(0.2).withSeed(42);
    SimServer first = start(config);
    SimServer second = start(config);

    List<String> outcomes = outcomes(first, 30);

    assertThat(outcomes(second, 30)).isEqualTo(outcomes);
    assertThat(outcomes).contains("200", "500", "reset");
    SimStats stats = first.stats();
    assertThat(stats.accepted()).isEqualTo(30);
    assertThat(stats.serverErrors()).isEqualTo(outcomes.stream().filter("500"::equals).count());
    assertThat(stats.resets()).isEqualTo(outcomes.stream().filter("reset"::equals).count());
    assertThat(stats.inFlight()).isZero();
    assertThat(outcomes(start(config.withSeed(7)), 30)).isNotEqualTo(outcomes);
  }

  @Test
  void configuredServerErrorHasOpenAiShape() {
    SimServer sim = start(SimConfig.defaults().withErrorRate(1.0));
    try (SimClient client = new SimClient(sim)) {
      HttpResponse<String> response = client.post("/v1/chat/completions", chat("m"));

      assertThat(response.statusCode()).isEqualTo(500);
      assertThat(response.body()).isEqualTo("{\"error\":{\"message\":\"The server had an error while processing your "
          + "request. Sorry about that!\",\"type\":\"server_error\",\"code\":null}}");
    }
  }

  @Test
  void errorStatusSetsTheStatusAndMessageOfDrawnErrors() {
    SimServer sim = start(SimConfig.defaults().withErrorRate(1.0).withErrorStatus(503));
    try (SimClient client = new SimClient(sim)) {
      HttpResponse<String> overloaded = client.post("/v1/chat/completions", chat("m"));
      sim.updateConfig(sim.config().withErrorStatus(502));
      HttpResponse<String> badGateway = client.post("/v1/embeddings", "{\"model\":\"m\",\"input\":\"x\"}");
      sim.updateConfig(sim.config().withErrorStatus(529));
      HttpResponse<String> other = client.post("/v1/completions", "{\"model\":\"m\",\"prompt\":\"x\"}");

      assertThat(overloaded.statusCode()).isEqualTo(503);
      assertThat(overloaded.body()).isEqualTo(
          errorBody("The server is overloaded or not ready yet.", "server_error", null));
      assertThat(badGateway.statusCode()).isEqualTo(502);
      assertThat(badGateway.body()).isEqualTo(errorBody("Bad gateway.", "server_error", null));
      assertThat(other.statusCode()).isEqualTo(529);
      assertThat(other.body()).isEqualTo(errorBody(
          "The server had an error while processing your request. Sorry about that!", "server_error", null));
      assertThat(sim.stats().serverErrors()).isEqualTo(3);
      assertThat(sim.stats().accepted()).isEqualTo(3);
    }
  }

  @Test
  void rejectedKeyGets401LikeOpenAiAndIsNeverAdmitted() {
    SimServer sim = start(SimConfig.defaults().withRpm(60).withBurst(1)
        .withRejectedKeys(List.of("sk-abcdefghijklmnopwxyz", "sk-short")));
    try (SimClient client = new SimClient(sim)) {
      HttpResponse<String> refused = client.post("/v1/chat/completions", chat("m"),
          "Authorization", "Bearer sk-abcdefghijklmnopwxyz");
      HttpResponse<String> refusedShort = client.post("/v1/chat/completions", chat("m"),
          "Authorization", "bearer  sk-short ");
      HttpResponse<String> models = client.send(client.request("/v1/models")
          .header("Authorization", "Bearer sk-short").GET().build());

      assertThat(refused.statusCode()).isEqualTo(401);
      assertThat(refused.headers().firstValue("Content-Type")).hasValue("application/json");
      assertThat(refused.body()).isEqualTo("{\"error\":{\"message\":\"Incorrect API key provided: sk-a****wxyz. You "
          + "can find your API key at https://platform.openai.com/account/api-keys.\",\"type\":\"invalid_request_error\","
          + "\"param\":null,\"code\":\"invalid_api_key\"}}");
      assertThat(refusedShort.statusCode()).isEqualTo(401);
      assertThat(json(refusedShort).get("error").get("message").asText()).startsWith(
          "Incorrect API key provided: ****. ");
      assertThat(models.statusCode()).isEqualTo(401);
      assertThat(sim.stats().unauthorized()).isEqualTo(3);
      assertThat(sim.stats().accepted()).isZero();
      assertThat(sim.stats().rejected429()).isZero();

      // Other keys, no key and the test-only echo pass; the one token of the bucket was never taken by a 401.
      assertThat(client.post("/v1/echo", "{}", "Authorization", "Bearer sk-short").statusCode()).isEqualTo(200);
      assertThat(client.post("/v1/chat/completions", chat("m"), "Authorization", "Bearer sk-other").statusCode())
          .isEqualTo(200);
      assertThat(client.post("/v1/chat/completions", chat("m"), "Authorization", "Basic c2stc2hvcnQ6")
          .statusCode()).isEqualTo(429);
      assertThat(sim.stats().accepted()).isEqualTo(1);
      assertThat(sim.stats().unauthorized()).isEqualTo(3);
    }
  }

  @Test
  void faultHeaderForces500503And429WithoutConsumingTheLimit() {
    SimServer sim = start(SimConfig.defaults().withRpm(60).withBurst(1));
    try (SimClient client = new SimClient(sim)) {
      HttpResponse<String> failed = client.post("/v1/chat/completions", chat("m"), "X-Sim-Fault", "500");
      assertThat(failed.statusCode()).isEqualTo(500);
      assertThat(failed.body()).isEqualTo(errorBody(
          "The server had an error while processing your request. Sorry about that!", "server_error", null));
      HttpResponse<String> overloaded = client.post("/v1/chat/completions", chat("m"), "X-Sim-Fault", "503");
      assertThat(overloaded.statusCode()).isEqualTo(503);
      assertThat(overloaded.body()).isEqualTo(
          errorBody("The server is overloaded or not ready yet.", "server_error", null));
      HttpResponse<String> limited = client.post("/v1/chat/completions", chat("m"), "X-Sim-Fault", "429");
      assertThat(limited.statusCode()).isEqualTo(429);
      assertThat(limited.headers().firstValue("Retry-After")).hasValue("1");
      assertThat(limited.body()).isEqualTo(errorBody(
          "Rate limit reached for requests (forced by X-Sim-Fault). Please try again in 1s.", "requests",
          "rate_limit_exceeded"));

      assertThat(client.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
      SimStats stats = sim.stats();
      assertThat(stats.serverErrors()).isEqualTo(2);
      assertThat(stats.rejectedByRate()).isEqualTo(1);
      assertThat(stats.accepted()).isEqualTo(1);
    }
  }

  @Test
  void resetFaultDropsTheConnectionWithoutAnswer() {
    SimServer sim = start(SimConfig.defaults());
    try (SimClient client = new SimClient(sim)) {
      assertThatThrownBy(() -> client.post("/v1/chat/completions", chat("m"), "X-Sim-Fault", "reset"))
          .isInstanceOf(UncheckedIOException.class);

      assertThat(sim.stats().resets()).isEqualTo(1);
      assertThat(client.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void resetAfterALatencyStillResetsTheConnection() throws Exception {
    SimServer sim = start(SimConfig.defaults());
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      post(socket, chat("m"), "X-Sim-Fault: reset", "X-Sim-Ttft-Ms: 100");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(100));

      sleeper.advance(Duration.ofMillis(100));

      assertThatThrownBy(() -> socket.getInputStream().read()).isInstanceOf(java.net.SocketException.class)
          .hasMessageContaining("reset");
      assertThat(sim.stats().resets()).isEqualTo(1);
      assertThat(sim.stats().clientDisconnects()).isZero();
    }
  }

  @Test
  void stalledNonStreamSendsHalfTheBodyThenTheRestAfterTheStall() throws Exception {
    SimServer sim = start(SimConfig.defaults().withStallMillis(300_000));
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      InputStream in = socket.getInputStream();
      post(socket, chat("m"), "X-Sim-Fault: stall", "X-Sim-Chunks: 2");

      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(300_000));
      assertThat(sim.stats().stalls()).isEqualTo(1);
      assertThat(head(in)).startsWith("HTTP/1.1 200 OK\r\n").contains("\r\nContent-Length: 257\r\n");
      assertThat(new String(in.readNBytes(128), StandardCharsets.UTF_8)).isEqualTo("{\"id\":\"chatcmpl-sim-1\","
          + "\"object\":\"chat.completion\",\"created\":1767225601,\"model\":\"m\",\"choices\":[{\"index\":0,"
          + "\"message\":{\"role\":\"assi");
      assertThat(in.available()).isZero();
      sleeper.advance(Duration.ofMillis(300_000));
      assertThat(new String(in.readNBytes(129), StandardCharsets.UTF_8)).isEqualTo("stant\",\"content\":"
          + "\"Sluice simulates\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2,"
          + "\"total_tokens\":6}}");
    }
  }

  @Test
  void clientGoingAwayMidStreamIsCounted() throws Exception {
    SimServer sim = startInRealTime(SimConfig.defaults().withPerTokenMillis(10).withCompletionTokens(200));
    String body = "{\"model\":\"m\",\"stream\":true}";
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      post(socket, body);
      BufferedReader in = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
      String line;
      do {
        line = in.readLine();
      } while (line != null && !line.startsWith("data: "));
      assertThat(line).startsWith("data: ");
    }

    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
        .until(() -> sim.stats().clientDisconnects() == 1);
    await().atMost(Duration.ofSeconds(30)).until(() -> sim.stats().inFlight() == 0);
  }

  @Test
  void longTtftSendsNothingNotEvenHeadersAndAClientAbortFreesTheSlotAtOnce() throws Exception {
    SimServer sim = start(SimConfig.defaults().withTtftMillis(60_000).withMaxConcurrent(1));
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      post(socket, chat("m"));

      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofSeconds(60));
      sleeper.advance(Duration.ofMillis(59_999));
      assertThat(sleeper.sleeping()).containsExactly(Duration.ofMillis(1));
      assertThat(socket.getInputStream().available()).isZero();
      assertThat(sim.stats().inFlight()).isEqualTo(1);
    }

    await().atMost(Duration.ofSeconds(30)).until(() -> sim.stats().inFlight() == 0);
    assertThat(sleeper.sleeping()).isEmpty();
    assertThat(sim.stats().clientDisconnects()).isEqualTo(1);
    try (SimClient client = new SimClient(sim)) {
      assertThat(client.post("/v1/chat/completions", chat("m"), "X-Sim-Ttft-Ms", "0").statusCode()).isEqualTo(200);
    }
  }

  @Test
  void stallFirstByteHeaderStaysSilentForStallMillisThenTheTtftBeforeTheHeaders() throws Exception {
    SimServer sim = start(SimConfig.defaults().withStallMillis(300_000).withTtftMillis(100).withMaxConcurrent(1));
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      InputStream in = socket.getInputStream();
      post(socket, "{\"model\":\"m\",\"stream\":true}", "X-Sim-Fault: stall-first-byte", "X-Sim-Chunks: 1");

      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(300_000));
      assertThat(sim.stats().stalls()).isEqualTo(1);
      assertThat(sim.stats().inFlight()).isEqualTo(1);
      assertThat(in.available()).isZero();
      sleeper.advance(Duration.ofMillis(300_000));
      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(100));
      assertThat(in.available()).isZero();
      sleeper.advance(Duration.ofMillis(100));

      assertThat(head(in)).startsWith("HTTP/1.1 200 OK\r\n").contains("Content-Type: text/event-stream");
      BufferedReader body = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      List<String> events = new ArrayList<>();
      for (String line = body.readLine(); !"data: [DONE]".equals(line); line = body.readLine()) {
        if (line.startsWith("data: ")) {
          events.add(line);
        }
      }
      assertThat(events).hasSize(2); // the one token, then the finish; the fault stalled nothing else
    }
    assertThat(sim.stats().stalls()).isEqualTo(1);
    assertThat(sim.stats().accepted()).isEqualTo(1);
  }

  @Test
  void stallFirstByteHeaderDelaysAWholeAnswerAndTheEcho() throws Exception {
    SimServer sim = start(SimConfig.defaults().withStallMillis(5_000));
    try (SimClient client = new SimClient(sim)) {
      CompletableFuture<HttpResponse<String>> chat =
          client.postAsync("/v1/chat/completions", chat("m"), "X-Sim-Fault", "stall-first-byte");
      CompletableFuture<HttpResponse<String>> echo =
          client.postAsync("/v1/echo", "{\"a\":1}", "X-Sim-Fault", "stall-first-byte");
      assertThat(sleeper.awaitSleeping(2)).containsExactly(Duration.ofMillis(5_000), Duration.ofMillis(5_000));
      assertThat(chat).isNotDone();
      assertThat(echo).isNotDone();

      sleeper.advance(Duration.ofMillis(5_000));

      assertThat(chat.get(30, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      assertThat(echo.get(30, java.util.concurrent.TimeUnit.SECONDS).body()).isEqualTo("{\"a\":1}");
      assertThat(sim.stats().stalls()).isEqualTo(2);
    }
  }

  @Test
  void clientAbortDuringAStallMidStreamFreesTheSlotAtOnce() throws Exception {
    SimServer sim = start(SimConfig.defaults().withMaxConcurrent(1).withStallMillis(600_000));
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      post(socket, "{\"model\":\"m\",\"stream\":true}", "X-Sim-Fault: stall", "X-Sim-Chunks: 4");

      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(600_000));
      assertThat(head(socket.getInputStream())).startsWith("HTTP/1.1 200 OK\r\n");
      assertThat(sim.stats().stalls()).isEqualTo(1);
    }

    await().atMost(Duration.ofSeconds(30)).until(() -> sim.stats().inFlight() == 0);
    assertThat(sleeper.sleeping()).isEmpty();
    assertThat(sim.stats().clientDisconnects()).isEqualTo(1);
  }

  @Test
  void keepAliveConnectionServesCallsWithLatencyOneAfterAnother() throws Exception {
    SimServer sim = start(SimConfig.defaults().withTtftMillis(100).withMaxConcurrent(1));
    try (Socket socket = new Socket("127.0.0.1", sim.port())) {
      socket.setSoTimeout(30_000);
      InputStream in = socket.getInputStream();
      for (int i = 1; i <= 3; i++) {
        post(socket, chat("m"));
        assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(100));
        sleeper.advance(Duration.ofMillis(100));
        String head = head(in);
        assertThat(head).startsWith("HTTP/1.1 200 OK\r\n");
        Matcher length = Pattern.compile("Content-Length: (\\d+)").matcher(head);
        assertThat(length.find()).isTrue();
        assertThat(new String(in.readNBytes(Integer.parseInt(length.group(1))), StandardCharsets.UTF_8))
            .contains("\"id\":\"chatcmpl-sim-" + i + "\"");
      }
    }
    assertThat(sim.stats().accepted()).isEqualTo(3);
    assertThat(sim.stats().clientDisconnects()).isZero();
  }

  @Test
  void closeEndsRequestsWaitingOutTheirLatencyWithoutAnAnswer() throws Exception {
    SimServer sim = startInRealTime(SimConfig.defaults().withTtftMillis(SimConfig.MAX_TTFT_MILLIS));
    try (SimClient client = new SimClient(sim)) {
      CompletableFuture<HttpResponse<String>> pending = client.postAsync("/v1/chat/completions", chat("m"));
      await().atMost(Duration.ofSeconds(30)).until(() -> sim.stats().inFlight() == 1);

      sim.close();

      assertThat(pending).failsWithin(Duration.ofSeconds(30)).withThrowableOfType(ExecutionException.class)
          .withCauseInstanceOf(IOException.class);
      await().atMost(Duration.ofSeconds(30)).until(() -> sim.stats().inFlight() == 0);
      assertThat(sim.stats().clientDisconnects()).isZero();
    }
  }

  /** Sends a chat completion request, with extra header lines, on a raw HTTP/1.1 connection. */
  private static void post(Socket socket, String body, String... headerLines) throws IOException {
    StringBuilder request = new StringBuilder("POST /v1/chat/completions HTTP/1.1\r\nHost: sim\r\n"
        + "Content-Type: application/json\r\nContent-Length: " + body.length() + "\r\n");
    for (String line : headerLines) {
      request.append(line).append("\r\n");
    }
    OutputStream out = socket.getOutputStream();
    out.write(request.append("\r\n").append(body).toString().getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  /** The status line and headers of a response, up to and including the blank line. */
  private static String head(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
      int b = in.read();
      if (b < 0) {
        throw new EOFException("the connection closed within the response head: " + head);
      }
      head.append((char) b);
    }
    return head.toString();
  }
}
