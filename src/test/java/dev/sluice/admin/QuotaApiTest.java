package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.time.Clock;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /api/admin/quota}: a backend whose token budget is spent, read over real sockets while a request waits for
 * it, then reset, after which the waiting request is served.
 */
class QuotaApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int BUDGET = 1_000;
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /**
   * Pool nvidia: nv-1 before the sim with a budget of {@value #BUDGET} tokens in 5 h (tripping at 90 %, probing
   * hourly) and 100,000 tokens per minute; pool solo: a backend with neither.
   */
  private void start() throws Exception {
    harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - id: nv-1
                base_url: "%s"
                api_key_env: SIM_KEY
                tpm: 100000
                quota: {budget_tokens: %d, window_hours: 5, threshold_percent: 90, probe_interval_seconds: 3600}
          - name: solo
            aliases: [solo]
            backends: [{id: solo-1, base_url: "%1$s"}]
        """.formatted(harness.sim.baseUrl(), BUDGET), Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN), dir);
  }

  private Backend nv1() {
    return harness.sluice.pools().getFirst().backends().getFirst();
  }

  /**
   * An answer that used the whole budget, released through the backend's permit as the forwarder releases each
   * answer with its usage; then a request that finds the budget spent, trips the guard and waits in the queue.
   */
  private CompletableFuture<HttpResponse<String>> spendTheBudgetAndQueueARequest() throws Exception {
    Backend.Grant grant = nv1().tryAcquire(Clock.system().nanoTime());
    assertThat(grant).isInstanceOf(Backend.Granted.class);
    ((Backend.Granted) grant).permit().release(new Attempt(200, 0).withUsage(BUDGET, false));
    CompletableFuture<HttpResponse<String>> waiting = harness.chatAsync("waiting", "normal");
    await().atMost(Duration.ofSeconds(20))
        .until(() -> harness.adminJson("GET", "/api/admin/quota/nv-1", null).get("state").asText(),
            "QUOTA_EXCEEDED"::equals);
    await().atMost(Duration.ofSeconds(20))
        .until(() -> harness.status().at("/pools/0/queue/size").asInt() == 1);
    return waiting;
  }

  @Test
  void anExceededBackendShowsItsUsageAgainstTheBudgetItsProbesAndItsTokensPerMinute() throws Exception {
    start();
    Instant before = Instant.now().minusSeconds(1);
    CompletableFuture<HttpResponse<String>> waiting = spendTheBudgetAndQueueARequest();

    HttpResponse<String> answer = harness.admin("GET", "/api/admin/quota/nv-1", null);

    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode q = JSON.readTree(answer.body());
    assertThat(q.get("backend").asText()).isEqualTo("nv-1");
    assertThat(q.get("pool").asText()).isEqualTo("nvidia");
    assertThat(q.get("state").asText()).isEqualTo("QUOTA_EXCEEDED");
    assertThat(q.get("window_usage_tokens").asLong()).isEqualTo(BUDGET);
    assertThat(q.get("budget_tokens").asLong()).isEqualTo(BUDGET);
    assertThat(q.get("usage_percent").asDouble()).isEqualTo(100.0);
    assertThat(q.get("threshold_percent").asInt()).isEqualTo(90);
    assertThat(q.get("window_hours").asInt()).isEqualTo(5);
    assertThat(q.get("cap_error").isNull()).isTrue();
    assertThat(q.get("probe_interval_seconds").asDouble()).isEqualTo(3600.0);
    Instant tripped = Instant.parse(q.get("last_probe_at").asText());
    assertThat(tripped).isBetween(before, Instant.now());
    assertThat(Instant.parse(q.get("next_probe_at").asText())).isEqualTo(tripped.plusSeconds(3600));
    assertThat(q.get("trips").asLong()).isEqualTo(1);
    assertThat(q.get("probes").asLong()).isZero();
    assertThat(q.get("tpm").asLong()).isEqualTo(100_000);
    // The minute's budget less what was used, refilling at 1,667 tokens a second.
    assertThat(q.get("tpm_available").asLong()).isBetween(99_000L, 100_000L);
    assertThat(harness.status().at("/pools/0/backends/0/state").asText()).isEqualTo("quota_exceeded");
    assertThat(waiting).isNotDone();
    harness.sluice.close(Duration.ZERO);
    assertThat(waiting.get(20, TimeUnit.SECONDS).statusCode()).as("answered at shutdown").isEqualTo(503);
  }

  @Test
  void resetBringsTheBackendBackWithinQuotaAndTheWaitingRequestIsServed() throws Exception {
    start();
    CompletableFuture<HttpResponse<String>> waiting = spendTheBudgetAndQueueARequest();

    HttpResponse<String> reset = harness.admin("POST", "/api/admin/quota/nv-1/reset", null);

    assertThat(reset.statusCode()).isEqualTo(200);
    JsonNode q = JSON.readTree(reset.body());
    assertThat(q.get("reset").asBoolean()).isTrue();
    assertThat(q.get("state").asText()).isEqualTo("WITHIN_QUOTA");
    assertThat(q.get("next_probe_at").isNull()).isTrue();
    // The usage is forgotten; the request it let go may have added its own by now.
    assertThat(q.get("window_usage_tokens").asLong()).isLessThan(BUDGET * 9L / 10);
    assertThat(q.get("trips").asLong()).as("trips count since start").isEqualTo(1);
    assertThat(waiting.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(harness.chatAsync("after", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(harness.status().at("/pools/0/backends/0/state").asText()).isEqualTo("active");
    assertThat(harness.events("sluice.audit")).extracting(e -> e.getFormattedMessage()).containsExactly(
        "admin changed pools.nvidia.backends.nv-1.quota: QUOTA_EXCEEDED, 1000 of 1000 tokens in 5 h -> reset");
    JsonNode events = JSON.readTree(harness.send("GET", "/api/dashboard", null).body()).get("events");
    assertThat(events).extracting(e -> e.get("text").asText()).containsSubsequence(
        "backend nv-1 quota exceeded: 1000 tokens in the last 5 h, 100.0 % of the budget of 1000 (threshold 90 %);"
            + " one probe every 3600 s",
        "backend nv-1 within quota again: reset by an operator");
  }

  @Test
  void theListShowsEveryBackendAndABackendWithoutBudgetsHasNulls() throws Exception {
    start();

    JsonNode all = harness.adminJson("GET", "/api/admin/quota", null);
    JsonNode solo = harness.adminJson("GET", "/api/admin/quota?pool=solo", null);
    HttpResponse<String> noPool = harness.admin("GET", "/api/admin/quota?pool=other", null);

    assertThat(all.get("quota")).extracting(b -> b.get("backend").asText()).containsExactly("nv-1", "solo-1");
    assertThat(all.at("/quota/0/state").asText()).isEqualTo("WITHIN_QUOTA");
    assertThat(all.at("/quota/0/window_usage_tokens").asLong()).isZero();
    assertThat(all.at("/quota/0/last_probe_at").isNull()).isTrue();
    assertThat(solo).isEqualTo(JSON.readTree("""
        {"quota":[{"backend":"solo-1","pool":"solo","state":"WITHIN_QUOTA","window_usage_tokens":0,
          "budget_tokens":null,"usage_percent":null,"threshold_percent":99,"window_hours":5,"cap_error":null,
          "probe_interval_seconds":300.0,"last_probe_at":null,"next_probe_at":null,"trips":0,"probes":0,
          "tpm":null,"tpm_available":null}]}"""));
    assertThat(noPool.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(noPool.body()).at("/error/param").asText()).isEqualTo("pool");
  }

  @Test
  void anUnknownBackendIs404AndTheResetTakesNoBodyAndNeedsTheToken() throws Exception {
    start();

    HttpResponse<String> unknown = harness.admin("GET", "/api/admin/quota/nv-9", null);
    HttpResponse<String> resetUnknown = harness.admin("POST", "/api/admin/quota/nv-9/reset", null);
    HttpResponse<String> emptyObject = harness.admin("POST", "/api/admin/quota/nv-1/reset", "{}");
    HttpResponse<String> withField = harness.admin("POST", "/api/admin/quota/nv-1/reset", "{\"budget_tokens\":5}");
    HttpResponse<String> noToken = harness.send("POST", "/api/admin/quota/nv-1/reset", null,
        "Content-Type", "application/json");
    HttpResponse<String> notJson = harness.send("POST", "/api/admin/quota/nv-1/reset", null,
        "Authorization", "Bearer " + AdminHarness.TOKEN);
    HttpResponse<String> delete = harness.admin("DELETE", "/api/admin/quota/nv-1", null);

    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknown.body())).isEqualTo(JSON.readTree("""
        {"error":{"message":"No backend with id nv-9 (backends: nv-1, solo-1).","type":"invalid_request_error",
          "code":"not_found"}}"""));
    assertThat(resetUnknown.statusCode()).isEqualTo(404);
    assertThat(emptyObject.statusCode()).isEqualTo(200);
    assertThat(withField.statusCode()).isEqualTo(400);
    assertThat(JSON.readTree(withField.body()).get("error")).isEqualTo(JSON.readTree("""
        {"message":"budget_tokens: unknown key; the reset takes no body, or {}","type":"invalid_request_error",
         "code":"invalid_value","param":"budget_tokens"}"""));
    assertThat(noToken.statusCode()).isEqualTo(401);
    assertThat(notJson.statusCode()).isEqualTo(415);
    assertThat(delete.statusCode()).isEqualTo(405);
    assertThat(delete.headers().firstValue("Allow")).contains("GET");
    assertThat(harness.events("sluice.audit")).as("only the reset that was served").hasSize(1);
  }
}
