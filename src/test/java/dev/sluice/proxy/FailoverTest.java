package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.closedPort;
import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failover before the first byte, end to end over real sockets with several simulated providers: a 429, a 5xx, a
 * refused connection, a reset and a missing first byte each go to the next backend, and the caller sees only the
 * answer that came; nothing is retried once a byte reached the caller; a backend whose upstream refuses its key
 * is dead and skipped.
 */
class FailoverTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "{\"model\":\"pool/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private final Harness harness = new Harness();
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /** A pool {@code pool} over the given base URLs, in order, with {@code poolExtra} lines of pool settings. */
  private Sluice sluice(String poolExtra, String... baseUrls) throws Exception {
    StringBuilder backends = new StringBuilder();
    for (int i = 0; i < baseUrls.length; i++) {
      backends.append("      - {id: b").append(i + 1).append(", base_url: \"").append(baseUrls[i])
          .append("\", api_key_env: KEY_").append(i + 1).append(", rate_rpm: 6000, capacity: 100}\n");
    }
    return harness.sluiceFromYaml("""
        defaults: {timeout_seconds: 20}
        pools:
          - name: pool
            aliases: [pool]
            strip_prefix: true
        %s
            backends:
        %s""".formatted(poolExtra.indent(4), backends), Map.of("KEY_1", "sk-key-one-1111", "KEY_2",
        "sk-key-two-2222", "KEY_3", "sk-key-three-3333"), dir);
  }

  private HttpResponse<String> chat(Sluice sluice) throws Exception {
    return harness.post(uri(sluice, "/v1/chat/completions"), CHAT);
  }

  private JsonNode backendStatus(Sluice sluice, String id) throws Exception {
    for (JsonNode backend : JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools/0/backends")) {
      if (backend.at("/id").asText().equals(id)) {
        return backend;
      }
    }
    throw new AssertionError("no backend " + id);
  }

  /** An upstream that answers 401 to every key, as a provider does to a revoked one. */
  private static CannedUpstream refusingKeys() throws Exception {
    return answering("401 Unauthorized", "{\"error\":{\"message\":\"Incorrect API key provided.\","
        + "\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}");
  }

  private static CannedUpstream answering(String status, String json) throws Exception {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    return new CannedUpstream(CannedUpstream.response(status,
        "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n", body));
  }

  @Test
  void a429GoesToTheNextBackendAndCoolsTheFirst() throws Exception {
    // No rate-limit headers: with them Sluice would not send the first backend the request its 429 answers.
    SimServer first = harness.sim(SimConfig.defaults().withRpm(1).withBurst(1).withRateHeaders(false));
    SimServer second = harness.sim();
    Sluice sluice = sluice("", first.baseUrl(), second.baseUrl());

    assertThat(chat(sluice).statusCode()).isEqualTo(200); // the first's only token
    HttpResponse<String> failedOver = chat(sluice);

    assertThat(failedOver.statusCode()).isEqualTo(200);
    assertThat(first.stats().accepted()).isEqualTo(1);
    assertThat(first.stats().rejected429()).isEqualTo(1);
    assertThat(second.stats().accepted()).isEqualTo(1);
    // Cooling: the next request goes straight to the second backend.
    assertThat(chat(sluice).statusCode()).isEqualTo(200);
    assertThat(first.stats().rejected429()).isEqualTo(1);
    assertThat(second.stats().accepted()).isEqualTo(2);
    assertThat(backendStatus(sluice, "b1").at("/state").asText()).isEqualTo("cooling");
  }

  @Test
  void a5xxGoesToTheNextBackend() throws Exception {
    SimServer failing = harness.sim(SimConfig.defaults().withErrorRate(1.0));
    SimServer healthy = harness.sim();
    Sluice sluice = sluice("", failing.baseUrl(), healthy.baseUrl());

    HttpResponse<String> answer = chat(sluice);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(failing.stats().serverErrors()).isEqualTo(1);
    assertThat(healthy.stats().accepted()).isEqualTo(1);
  }

  @Test
  void aRefusedConnectionGoesToTheNextBackend() throws Exception {
    SimServer healthy = harness.sim();
    Sluice sluice = sluice("", "http://127.0.0.1:" + closedPort() + "/v1", healthy.baseUrl());

    assertThat(chat(sluice).statusCode()).isEqualTo(200);
    assertThat(healthy.stats().accepted()).isEqualTo(1);
    assertThat(backendStatus(sluice, "b1").at("/state").asText()).isEqualTo("cooling");
  }

  @Test
  void aResetBeforeTheHeadersGoesToTheNextBackend() throws Exception {
    SimServer resetting = harness.sim(SimConfig.defaults().withResetRate(1.0));
    SimServer healthy = harness.sim();
    Sluice sluice = sluice("", resetting.baseUrl(), healthy.baseUrl());

    assertThat(chat(sluice).statusCode()).isEqualTo(200);
    assertThat(resetting.stats().resets()).isEqualTo(1);
    assertThat(healthy.stats().accepted()).isEqualTo(1);
  }

  @Test
  void noFirstByteWithinTheTimeoutGoesToTheNextBackend() throws Exception {
    SimServer silent = harness.sim(SimConfig.defaults().withTtftMillis(60_000));
    SimServer healthy = harness.sim();
    Sluice sluice = sluice("first_byte_timeout_seconds: 1", silent.baseUrl(), healthy.baseUrl());

    long start = System.nanoTime();
    HttpResponse<String> answer = chat(sluice);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
    assertThat(healthy.stats().accepted()).isEqualTo(1);
  }

  @Test
  void withOneBackendAMissingFirstByteEndsIn504() throws Exception {
    SimServer silent = harness.sim(SimConfig.defaults().withTtftMillis(60_000));
    Sluice sluice = sluice("first_byte_timeout_seconds: 1\nmax_attempts: 1", silent.baseUrl());

    HttpResponse<String> answer = chat(sluice);

    assertThat(answer.statusCode()).isEqualTo(504);
    assertThat(JSON.readTree(answer.body()).at("/error/message").asText()).contains("first-byte timeout (1.0 s)");
  }

  @Test
  void nothingIsRetriedOnceTheFirstByteReachedTheCaller() throws Exception {
    // Streams that go silent half-way: the caller already has the first chunks, so no other backend is asked.
    SimServer stalling = harness.sim(SimConfig.defaults().withStallRate(1.0).withStallMillis(60_000)
        .withPerTokenMillis(10));
    SimServer healthy = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        defaults: {timeout_seconds: 1}
        pools:
          - name: pool
            aliases: [pool]
            backends:
              - {id: b1, base_url: "%s"}
              - {id: b2, base_url: "%s"}
        """.formatted(stalling.baseUrl(), healthy.baseUrl()), Map.of(), dir);

    HttpResponse<String> answer = harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"pool/m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).startsWith("data: ");
    assertThat(answer.body()).doesNotContain("[DONE]");
    assertThat(healthy.stats().accepted()).isZero();
  }

  @Test
  void aBackendWhoseKeyIsRefusedIsDeadAndSkippedUntilEnabled() throws Exception {
    try (CannedUpstream refusing = refusingKeys()) {
      SimServer healthy = harness.sim();
      Sluice sluice = sluice("", refusing.baseUrl(), healthy.baseUrl());

      assertThat(chat(sluice).statusCode()).isEqualTo(200);
      assertThat(chat(sluice).statusCode()).isEqualTo(200);

      assertThat(healthy.stats().accepted()).isEqualTo(2);
      assertThat(refusing.requests()).isEqualTo(1);
      JsonNode dead = backendStatus(sluice, "b1");
      assertThat(dead.at("/state").asText()).isEqualTo("dead");
    }
  }

  @Test
  void whenEveryBackendIsDeadTheCallerGetsTheUpstreamsRefusalThen503() throws Exception {
    try (CannedUpstream refusing = refusingKeys()) {
      Sluice sluice = sluice("", refusing.baseUrl());

      assertThat(chat(sluice).statusCode()).isEqualTo(401);
      HttpResponse<String> refused = chat(sluice);

      assertThat(refused.statusCode()).isEqualTo(503);
      JsonNode error = JSON.readTree(refused.body()).at("/error");
      assertThat(error.at("/code").asText()).isEqualTo("no_backend_available");
      assertThat(error.at("/message").asText()).contains("b1 dead: the upstream answered 401 to its key")
          .doesNotContain("sk-key");
      assertThat(refused.headers().firstValue("Retry-After")).contains("5");
    }
  }

  @Test
  void a403IsTheCallersAnswerNotAFailoverAndTheBackendIsDeadForLaterRequests() throws Exception {
    try (CannedUpstream forbidding = answering("403 Forbidden", "{\"error\":{\"message\":\"This key may not use"
        + " this model.\",\"type\":\"permission_error\",\"code\":\"model_not_allowed\"}}")) {
      SimServer healthy = harness.sim();
      Sluice sluice = sluice("", forbidding.baseUrl(), healthy.baseUrl());

      assertThat(chat(sluice).statusCode()).isEqualTo(403);
      assertThat(healthy.stats().accepted()).isZero();
      assertThat(backendStatus(sluice, "b1").at("/state").asText()).isEqualTo("dead");
      assertThat(chat(sluice).statusCode()).isEqualTo(200);
      assertThat(healthy.stats().accepted()).isEqualTo(1);
    }
  }

  @Test
  void aProvidersErrorThatRepeatsTheBackendsKeyReachesTheCallerWithTheKeyMasked() throws Exception {
    try (CannedUpstream refusing = answering("401 Unauthorized", "{\"error\":{\"message\":\"Incorrect API key"
        + " provided: sk-key-one-1111.\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}")) {
      Sluice sluice = sluice("", refusing.baseUrl());

      HttpResponse<String> answer = chat(sluice);

      assertThat(answer.statusCode()).isEqualTo(401);
      assertThat(answer.body()).doesNotContain("sk-key-one").contains("Incorrect API key provided: ****.");
      assertThat(JSON.readTree(answer.body()).at("/error/code").asText()).isEqualTo("invalid_api_key");
    }
  }

  @Test
  void aRequestPutBackAfterALongFailedAttemptFailsOverInsteadOfSpilling() throws Exception {
    SimServer silent = harness.sim(SimConfig.defaults().withTtftMillis(60_000));
    SimServer healthy = harness.sim();
    SimServer emergency = harness.sim();
    // The first attempt takes 2 s, longer than spill_after: the spill clock starts again when the request is put
    // back, so the pool's other backend answers, not the emergency upstream.
    Sluice sluice = sluice("first_byte_timeout_seconds: 2\nspill_after_seconds: 1\nemergency_upstream: \""
        + emergency.baseUrl() + "\"", silent.baseUrl(), healthy.baseUrl());

    assertThat(chat(sluice).statusCode()).isEqualTo(200);
    assertThat(healthy.stats().accepted()).isEqualTo(1);
    assertThat(emergency.stats().accepted()).isZero();
  }
}
