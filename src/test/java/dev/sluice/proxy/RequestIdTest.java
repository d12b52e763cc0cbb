package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every answer carries {@code X-Sluice-Request-Id}, whoever produced it (the upstream, Sluice's checks, its queue,
 * its upstream failures, Jetty's parser), and the request log line names the same id.
 */
class RequestIdTest {
  /** Eight base-36 digits of a random prefix, a dash, a base-36 sequence number. */
  static final String GENERATED_ID = "[0-9a-z]{8}-[0-9a-z]+";
  private static final String CHAT = "{\"model\":\"nvidia/llama\",\"messages\":[]}";
  private final Harness harness = new Harness();
  private final RequestLogCapture requestLog = new RequestLogCapture();

  @AfterEach
  void stop() throws Exception {
    try (requestLog) {
      harness.close();
    }
  }

  /** The response's id, after checking that exactly one log line names it, with the response's status. */
  private String idNamedInTheLog(HttpResponse<String> response) {
    String id = response.headers().firstValue("X-Sluice-Request-Id").orElseThrow(
        () -> new AssertionError("no X-Sluice-Request-Id on " + response.statusCode() + " " + response.body()));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(requestLog.lines())
        .filteredOn(line -> id.equals(RequestLogCapture.value(line, "request_id"))).singleElement()
        .satisfies(line -> assertThat(RequestLogCapture.value(line, "status")).isEqualTo(response.statusCode())));
    return id;
  }

  static Stream<Arguments> answers() throws Exception {
    return Stream.of(
        Arguments.of(200, Map.of(), CHAT, List.of()),
        Arguments.of(400, Map.of(), "{\"model\":", List.of()),
        Arguments.of(413, Map.of("SIDECAR_MAX_BODY_BYTES", "1024"), "{\"model\":\"" + "a".repeat(2000) + "\"}",
            List.of()),
        Arguments.of(502, Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + Harness.closedPort() + "/v1"), CHAT,
            List.of()),
        Arguments.of(504, Map.of("SIDECAR_TIMEOUT", "1"), CHAT, List.of("X-Sim-Ttft-Ms", "4000")));
  }

  /** Relayed, invalid, too large, upstream unreachable, upstream silent. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("answers")
  void everyKindOfAnswerCarriesTheIdOfItsLogLine(int status, Map<String, String> env, String body,
      List<String> headers) throws Exception {
    SimServer sim = harness.sim();
    Map<String, String> all = new HashMap<>(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    all.putAll(env);
    Sluice sluice = harness.sluice(all);

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), body,
        headers.toArray(String[]::new));

    assertThat(response.statusCode()).isEqualTo(status);
    idNamedInTheLog(response);
  }

  @Test
  void queueAnswers429And503CarryTheId(@TempDir Path dir) throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        defaults: {low_priority_timeout_seconds: 1}
        pools:
          - name: nvidia
            queue_max_size: 1
            full_policy: reject
            backends: [{id: sim-1, base_url: "%s", rate_rpm: 1, capacity: 1}]
        """.formatted(sim.baseUrl()), Map.of(), dir);
    assertThat(harness.post(uri(sluice, "/v1/chat/completions"), CHAT).statusCode()).isEqualTo(200);
    CompletableFuture<HttpResponse<String>> low = harness.http.sendAsync(
        HttpRequest.newBuilder(uri(sluice, "/v1/chat/completions")).header("Content-Type", "application/json")
            .header("X-Priority", "low").POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
        HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(10)).until(() -> sluice.dispatchers().getFirst().snapshot().size() == 1);

    HttpResponse<String> queueFull = harness.post(uri(sluice, "/v1/chat/completions"), CHAT);
    HttpResponse<String> gaveUp = low.get(20, TimeUnit.SECONDS);

    assertThat(queueFull.statusCode()).isEqualTo(503);
    assertThat(gaveUp.statusCode()).isEqualTo(429);
    assertThat(idNamedInTheLog(queueFull)).isNotEqualTo(idNamedInTheLog(gaveUp));
  }

  @Test
  void jettyLevelErrorsCarryAGeneratedId() throws Exception {
    Sluice sluice = harness.sluice(Map.of());

    // Jetty gives up on these before it has the headers, so a caller's X-Request-Id cannot be used.
    RawHttp.Reply badHeader = RawHttp.exchange(sluice.port(), "GET /v1/models HTTP/1.1\r\nHost: x\r\n"
        + "X-Request-Id: mine-1\r\nBad Header: y\r\n\r\n");
    RawHttp.Reply tooLarge = RawHttp.exchange(sluice.port(), "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: "
        + "b".repeat(40_000) + "\r\n\r\n");

    assertThat(badHeader.status()).isEqualTo(400);
    assertThat(tooLarge.status()).isEqualTo(431);
    assertThat(List.of(badHeader, tooLarge)).map(reply -> reply.header("X-Sluice-Request-Id").orElseThrow())
        .allMatch(id -> id.matches(GENERATED_ID)).doesNotHaveDuplicates();
  }

  @Test
  void requestsWithoutASaneIdOfTheirOwnGetFreshGeneratedOnes() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    List<String> ids = new ArrayList<>();
    ids.add(idNamedInTheLog(harness.post(uri(sluice, "/v1/chat/completions"), CHAT)));
    for (String insane : List.of("", "x".repeat(65), "has space", "a/b", "semi;colon", "quote\"d")) {
      ids.add(idNamedInTheLog(harness.post(uri(sluice, "/v1/chat/completions"), CHAT, "X-Request-Id", insane)));
    }

    assertThat(ids).allMatch(id -> id.matches(GENERATED_ID)).doesNotHaveDuplicates()
        .extracting(id -> id.substring(0, id.indexOf('-'))).containsOnly(ids.getFirst().substring(0, 8));
  }

  @ParameterizedTest
  @ValueSource(strings = {"req-1", "A.b_C-9", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
  void aSaneCallerIdNamesTheAnswerAndTheLogLineAndGoesUpstream(String callerId) throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT, "X-Request-Id", callerId);

    assertThat(idNamedInTheLog(response)).isEqualTo(callerId);
    assertThat(sim.recentRequests().getLast().header("X-Request-Id")).isEqualTo(callerId);
  }

  @Test
  void sluicesOwnEndpointsNameTheirAnswersWithTheSameGeneratorAsProxiedOnes() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    String proxied = idNamedInTheLog(harness.post(uri(sluice, "/v1/chat/completions"), CHAT));
    List<HttpResponse<String>> answers = new ArrayList<>();
    for (String path : List.of("/health", "/health/ready", "/status")) {
      answers.add(harness.get(uri(sluice, path)));
    }
    answers.add(harness.post(uri(sluice, "/status"), "{}"));
    RawHttp.Reply jettyLevel =
        RawHttp.exchange(sluice.port(), "GET /status HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

    assertThat(answers).extracting(HttpResponse::statusCode).containsExactly(200, 200, 200, 405);
    List<String> ids = new ArrayList<>(answers.stream()
        .map(answer -> answer.headers().firstValue("X-Sluice-Request-Id").orElseThrow()).toList());
    ids.add(jettyLevel.header("X-Sluice-Request-Id").orElseThrow());
    ids.add(proxied);
    assertThat(ids).allMatch(id -> id.matches(GENERATED_ID)).doesNotHaveDuplicates()
        .extracting(id -> id.substring(0, id.indexOf('-'))).containsOnly(proxied.substring(0, 8));
  }

  @Test
  void aStatusRequestWithASaneIdGetsItBack() throws Exception {
    Sluice sluice = harness.sluice(Map.of());

    HttpResponse<String> health = harness.http.send(HttpRequest.newBuilder(uri(sluice, "/health"))
        .header("X-Request-Id", "probe-7").GET().build(), HttpResponse.BodyHandlers.ofString());

    assertThat(health.headers().firstValue("X-Sluice-Request-Id")).hasValue("probe-7");
  }
}
