package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

/**
 * Every answer carries {@code X-Sluice-Request-Id}, whoever produced it (the upstream, Sluice's checks, its queue,
 * its upstream failures, Jetty's parser), and the request log line names the same id.
 */
class RequestIdTest {
  /** Eight base-36 digits of a random prefix, a dash, a base-36 sequence number. */
  static final String GENERATED_ID = "[0-9a-z]{8}-[0-9a-z]+";
  private static final String CHAT = "{\"model\":\"nvidia/llama\",\"messages\":[]}";
  private final Harness harness = new Harness();
  private final ListAppender<ILoggingEvent> requestLog = new ListAppender<>();
  private final Logger requestLogger = (Logger) LoggerFactory.getLogger("sluice.request");

  @BeforeEach
  void attach() {
    requestLog.start();
    requestLogger.addAppender(requestLog);
  }

  @AfterEach
  void detach() throws Exception {
    requestLogger.detachAppender(requestLog);
    harness.close();
  }

  /** The response's id, after checking that exactly one log line names it, with the response's status. */
  private String idNamedInTheLog(HttpResponse<String> response) {
    String id = response.headers().firstValue("X-Sluice-Request-Id").orElseThrow(
        () -> new AssertionError("no X-Sluice-Request-Id on " + response.statusCode() + " " + response.body()));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(requestLog.list)
        .filteredOn(event -> id.equals(logged(event, "request_id"))).singleElement()
        .satisfies(event -> assertThat(logged(event, "status")).isEqualTo(response.statusCode())));
    return id;
  }

  private static Object logged(ILoggingEvent event, String key) {
    return Optional.ofNullable(event.getKeyValuePairs()).orElse(List.of()).stream()
        .filter(pair -> pair.key.equals(key)).map(pair -> pair.value).filter(Objects::nonNull).findFirst()
        .orElse(null);
  }

  private Sluice sluiceInFrontOf(SimServer sim, String extraEnv, String value) throws Exception {
    return harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), extraEnv, value));
  }

  @Test
  void aRelayedAnswerCarriesTheIdOfItsLogLine() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT);

    assertThat(response.statusCode()).isEqualTo(200);
    idNamedInTheLog(response);
  }

  @Test
  void invalidInputAnsweredBySluiceCarriesTheId() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), "{\"model\":");

    assertThat(response.statusCode()).isEqualTo(400);
    idNamedInTheLog(response);
  }

  @Test
  void aBodyOverTheLimitAnsweredWith413CarriesTheId() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = sluiceInFrontOf(sim, "SIDECAR_MAX_BODY_BYTES", "1024");

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/x\",\"pad\":\"" + "a".repeat(2000) + "\"}");

    assertThat(response.statusCode()).isEqualTo(413);
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
  void anUnreachableUpstreamAnsweredWith502CarriesTheId() throws Exception {
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + Harness.closedPort() + "/v1"));

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT);

    assertThat(response.statusCode()).isEqualTo(502);
    idNamedInTheLog(response);
  }

  @Test
  void aSilentUpstreamAnsweredWith504CarriesTheId() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = sluiceInFrontOf(sim, "SIDECAR_TIMEOUT", "1");

    HttpResponse<String> response = harness.post(uri(sluice, "/v1/chat/completions"), CHAT, "X-Sim-Ttft-Ms", "4000");

    assertThat(response.statusCode()).isEqualTo(504);
    idNamedInTheLog(response);
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
}
