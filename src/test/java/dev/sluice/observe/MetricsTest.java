package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.RateHeaders;
import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /metrics} on its own port, scraped after known traffic through Sluice in-process, over real sockets. */
class MetricsTest {
  private static final String CHAT = "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
  /** Every label name a series may carry: configured ids and small fixed sets, never a model, caller or request. */
  private static final Set<String> ALLOWED_LABELS =
      Set.of("priority", "status", "status_code", "provider", "pool", "backend", "class", "reason", "le", "state",
          "kind");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<AutoCloseable> running = new ArrayList<>();
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    http.close();
    for (AutoCloseable resource : running.reversed()) {
      resource.close();
    }
  }

  private SimServer sim() {
    SimServer sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
    running.add(sim);
    return sim;
  }

  private Sluice sluice(String upstream, Map<String, String> env) throws Exception {
    Map<String, String> all = new HashMap<>(env);
    all.putIfAbsent("SIDECAR_PORT", "0");
    all.putIfAbsent("SIDECAR_METRICS_PORT", "0");
    all.putIfAbsent("SIDECAR_DB_PATH", ":memory:");
    all.put("SIDECAR_UPSTREAM", upstream);
    Sluice sluice = Wiring.build(new ConfigLoader(all).load(), Clock.system());
    running.add(() -> sluice.close(Duration.ZERO));
    return sluice.start();
  }

  private HttpResponse<String> chat(Sluice sluice, String priority) throws Exception {
    return http.send(chatRequest(sluice, priority), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpRequest chatRequest(Sluice sluice, String priority) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.port() + "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-Priority", priority)
        .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
  }

  private HttpResponse<String> get(int port, String path, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).GET();
    if (headers.length > 0) {
      request.headers(headers);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private Scrape scrape(Sluice sluice) throws Exception {
    HttpResponse<String> response = get(sluice.metricsPort().orElseThrow(), "/metrics");
    assertThat(response.statusCode()).isEqualTo(200);
    return new Scrape(response.body());
  }

  /**
   * A scrape once {@code answered} requests are counted: a request is counted when it ends, which can be just after
   * its caller has read the whole answer.
   */
  private Scrape scrapeAfter(Sluice sluice, int answered) throws Exception {
    await().atMost(Duration.ofSeconds(20)).until(() -> scrape(sluice).sum("sidecar_requests_total") >= answered);
    return scrape(sluice);
  }

  @Test
  void requestsAreCountedByPriorityAndStatus() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    for (int i = 0; i < 3; i++) {
      assertThat(chat(sluice, "high").statusCode()).isEqualTo(200);
    }
    assertThat(chat(sluice, "low").statusCode()).isEqualTo(200);

    Scrape scrape = scrapeAfter(sluice, 4);
    assertThat(scrape.value("sidecar_requests_total", "priority", "high", "status", "200")).isEqualTo(3);
    assertThat(scrape.value("sidecar_requests_total", "priority", "low", "status", "200")).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_requests_total", "pool", "nvidia", "backend", "nvidia-default",
        "class", "2xx")).isEqualTo(4);
    assertThat(scrape.value("sidecar_upstream_latency_seconds_count", "provider", "nvidia")).isEqualTo(4);
    assertThat(scrape.value("sluice_upstream_first_byte_seconds_count", "pool", "nvidia", "backend",
        "nvidia-default")).isEqualTo(4);
    assertThat(scrape.value("sluice_overhead_seconds_count")).isEqualTo(4);
    assertThat(scrape.value("sluice_overhead_seconds_bucket", "le", "+Inf")).isEqualTo(4);
    assertThat(scrape.value("sluice_dispatched_total", "pool", "nvidia")).isEqualTo(4);
    // A full bucket of 40 at 40 requests/minute, four taken (refill in between is at most a token or two).
    assertThat(scrape.value("sidecar_tokens_available")).isBetween(36.0, 40.0);
    assertThat(scrape.value("sidecar_tokens_rate")).isCloseTo(40 / 60.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(scrape.value("sidecar_effective_rate_rpm")).isEqualTo(40);
    assertThat(scrape.value("sluice_backend_configured_rate_rpm", "pool", "nvidia", "backend", "nvidia-default"))
        .isEqualTo(40);
    assertThat(scrape.value("sidecar_retreat_state")).isZero();
    assertThat(scrape.value("sidecar_health_status")).isEqualTo(1);
    assertThat(scrape.value("sidecar_uptime_seconds")).isPositive();
    assertThat(scrape.value("sidecar_fallback_passthrough_total")).isZero();
    assertThat(scrape.value("sluice_refused_total", "pool", "nvidia", "reason", "timed_out")).isZero();
  }

  @Test
  void everySeriesHasTheTypeAndLabelsDocumented() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    chat(sluice, "normal");
    Scrape scrape = scrapeAfter(sluice, 1);
    assertThat(scrape.types).containsAllEntriesOf(Map.ofEntries(
        Map.entry("sidecar_requests_total", "counter"),
        Map.entry("sidecar_upstream_errors_total", "counter"),
        Map.entry("sidecar_fallback_passthrough_total", "counter"),
        Map.entry("sidecar_queue_latency_seconds", "histogram"),
        Map.entry("sidecar_upstream_latency_seconds", "histogram"),
        Map.entry("sidecar_tokens_available", "gauge"),
        Map.entry("sidecar_tokens_rate", "gauge"),
        Map.entry("sidecar_queue_depth", "gauge"),
        Map.entry("sidecar_retreat_state", "gauge"),
        Map.entry("sidecar_effective_rate_rpm", "gauge"),
        Map.entry("sidecar_upstream_429_rate", "gauge"),
        Map.entry("sidecar_health_status", "gauge"),
        Map.entry("sidecar_uptime_seconds", "gauge"),
        Map.entry("sluice_queue_depth", "gauge"),
        Map.entry("sluice_queue_capacity", "gauge"),
        Map.entry("sluice_dispatched_total", "counter"),
        Map.entry("sluice_requeued_total", "counter"),
        Map.entry("sluice_passthrough_total", "counter"),
        Map.entry("sluice_evicted_total", "counter"),
        Map.entry("sluice_refused_total", "counter"),
        Map.entry("sluice_backend_tokens_available", "gauge"),
        Map.entry("sluice_backend_effective_rate_rpm", "gauge"),
        Map.entry("sluice_backend_retreat_alerts_total", "counter"),
        Map.entry("sluice_backend_retry_after_remaining_seconds", "gauge"),
        Map.entry("sluice_backend_requests_total", "counter"),
        Map.entry("sluice_upstream_first_byte_seconds", "histogram"),
        Map.entry("sluice_overhead_seconds", "histogram"),
        Map.entry("sluice_spilled_total", "counter"),
        Map.entry("sluice_sent_to_emergency_total", "counter"),
        Map.entry("sluice_no_backend_total", "counter"),
        Map.entry("sluice_retry_budget_first_attempts", "gauge"),
        Map.entry("sluice_retry_budget_retries", "gauge"),
        Map.entry("sluice_backend_state", "gauge"),
        Map.entry("sluice_backend_concurrency_limit", "gauge"),
        Map.entry("sluice_backend_concurrency_adaptive", "gauge"),
        Map.entry("sluice_backend_cooldown_remaining_seconds", "gauge"),
        Map.entry("sluice_backend_consecutive_failures", "gauge"),
        Map.entry("sluice_backend_cooldowns_total", "counter"),
        Map.entry("sluice_backend_upstream_429_total", "counter")));
    assertThat(scrape.value("sidecar_queue_depth", "priority", "urgent")).isZero();
    assertThat(scrape.value("sidecar_queue_latency_seconds_bucket", "priority", "low", "le", "1.0E-4")).isZero();
    assertThat(scrape.value("sluice_backend_token_capacity", "pool", "nvidia", "backend", "nvidia-default"))
        .isEqualTo(40);
    assertThat(scrape.value("sluice_queue_capacity", "pool", "nvidia")).isEqualTo(500);
  }

  @Test
  void backendStateConcurrencyCooldowns429sByKindAndTheRetryBudgetAreSeries() throws Exception {
    // b1 refuses connections and cools 600 s; b2 allows one request a minute and sends no rate-limit headers (with
    // them, Sluice would not send it the request its 429 answers); b3 takes the rest.
    SimServer limited = SimServer.start(SimConfig.defaults().withRpm(1).withBurst(1).withRateHeaders(false),
        Clock.system(), "127.0.0.1", 0);
    running.add(limited);
    Map<String, String> env = new HashMap<>(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0",
        "SIDECAR_DB_PATH", ":memory:"));
    Sluice sluice = Wiring.build(new ConfigLoader(env).loadYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: b1, base_url: "http://127.0.0.1:%d/v1", cooldown: {base_seconds: 600, max_seconds: 600}}
              - {id: b2, base_url: "%s", concurrency: {mode: adaptive, max_concurrent: 5}}
              - {id: b3, base_url: "%s"}
        """.formatted(closedPort(), limited.baseUrl(), sim().baseUrl()), dir), Clock.system());
    running.add(() -> sluice.close(Duration.ZERO));
    sluice.start();
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(200); // b1 refused, then b2's one request
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(200); // b2's 429, then b3

    Scrape scrape = scrapeAfter(sluice, 2);

    String[] b1 = {"pool", "nvidia", "backend", "b1"};
    String[] b2 = {"pool", "nvidia", "backend", "b2"};
    assertThat(scrape.value("sluice_backend_state", "pool", "nvidia", "backend", "b1", "state", "cooling"))
        .isEqualTo(1);
    assertThat(scrape.value("sluice_backend_state", "pool", "nvidia", "backend", "b1", "state", "active")).isZero();
    assertThat(scrape.value("sluice_backend_state", "pool", "nvidia", "backend", "b3", "state", "active"))
        .isEqualTo(1);
    assertThat(scrape.value("sluice_backend_cooldown_remaining_seconds", b1)).isBetween(500.0, 600.0);
    assertThat(scrape.value("sluice_backend_consecutive_failures", b1)).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_cooldowns_total", b1)).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_concurrency_limit", b1)).isEqualTo(8);
    assertThat(scrape.value("sluice_backend_concurrency_adaptive", b1)).isZero();
    assertThat(scrape.value("sluice_backend_concurrency_limit", b2)).isEqualTo(5);
    assertThat(scrape.value("sluice_backend_concurrency_adaptive", b2)).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_upstream_429_total", "pool", "nvidia", "backend", "b2", "kind",
        "unknown")).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_upstream_429_total", "pool", "nvidia", "backend", "b2", "kind",
        "concurrency")).isZero();
    assertThat(scrape.value("sluice_retry_budget_first_attempts", "pool", "nvidia")).isEqualTo(2);
    // The retry after the refused connection draws on the budget; the one after the 429 does not.
    assertThat(scrape.value("sluice_retry_budget_retries", "pool", "nvidia")).isEqualTo(1);
    assertThat(scrape.value("sluice_spilled_total", "pool", "nvidia")).isZero();
    assertThat(scrape.value("sluice_sent_to_emergency_total", "pool", "nvidia")).isZero();
    assertThat(scrape.value("sluice_no_backend_total", "pool", "nvidia")).isZero();
  }

  /**
   * Pool nvidia: b1 with a budget of 2,000 tokens in 5 h (tripping at 90 %) and 1,000 tokens per minute, b2 with
   * neither; both before the sim.
   */
  private Sluice budgets() throws Exception {
    Sluice sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:"))
        .loadYaml("""
            pools:
              - name: nvidia
                aliases: [nvidia]
                backends:
                  - id: b1
                    base_url: "%s"
                    tpm: 1000
                    quota: {budget_tokens: 2000, window_hours: 5, threshold_percent: 90, probe_interval_seconds: 600}
                  - {id: b2, base_url: "%1$s"}
            """.formatted(sim().baseUrl()), dir), Clock.system());
    running.add(() -> sluice.close(Duration.ZERO));
    return sluice.start();
  }

  /** What b1's provider said in its {@code x-ratelimit-*} headers, as the forwarder passes them on. */
  private static void providerSays(Backend backend, long requestsLeft, long tokensLeft) {
    long reset = Duration.ofMinutes(1).toNanos();
    backend.onRateHeaders(new RateHeaders(100, requestsLeft, reset, 50_000, tokensLeft, reset),
        Clock.system().nanoTime());
  }

  @Test
  void tokenBudgetsAreSeriesAndAValueThatDoesNotApplyHasNoSample() throws Exception {
    Sluice sluice = budgets();
    HttpResponse<String> answer = chat(sluice, "normal");
    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode usage = new ObjectMapper().readTree(answer.body()).get("usage");
    scrapeAfter(sluice, 1);
    Backend b1 = sluice.pools().getFirst().backends().getFirst();
    // An answer that used the whole budget, released as the forwarder releases each answer with its usage; the
    // next request asking for b1 finds it spent.
    Backend.Grant grant = b1.tryAcquire(Clock.system().nanoTime());
    ((Backend.Granted) grant).permit().release(new Attempt(200, 0).withUsage(2_000, false));
    assertThat(b1.tryAcquire(Clock.system().nanoTime())).isInstanceOf(Backend.Wait.class);
    providerSays(b1, 42, 31_000);

    Scrape scrape = scrape(sluice);

    String[] one = {"pool", "nvidia", "backend", "b1"};
    String[] two = {"pool", "nvidia", "backend", "b2"};
    assertThat(scrape.types).containsAllEntriesOf(Map.ofEntries(
        Map.entry("sluice_quota_state", "gauge"),
        Map.entry("sluice_quota_window_usage_tokens", "gauge"),
        Map.entry("sluice_quota_budget_tokens", "gauge"),
        Map.entry("sluice_quota_usage_ratio", "gauge"),
        Map.entry("sluice_quota_threshold_ratio", "gauge"),
        Map.entry("sluice_quota_trips_total", "counter"),
        Map.entry("sluice_quota_probes_total", "counter"),
        Map.entry("sluice_tpm_limit_tokens", "gauge"),
        Map.entry("sluice_tpm_available_tokens", "gauge"),
        Map.entry("sluice_provider_remaining_requests", "gauge"),
        Map.entry("sluice_provider_remaining_tokens", "gauge"),
        Map.entry("sluice_tokens_total", "counter")));
    assertThat(scrape.value("sluice_quota_state", "pool", "nvidia", "backend", "b1", "state", "quota_exceeded"))
        .isEqualTo(1);
    assertThat(scrape.value("sluice_quota_state", "pool", "nvidia", "backend", "b1", "state", "within_quota"))
        .isZero();
    assertThat(scrape.value("sluice_quota_state", "pool", "nvidia", "backend", "b2", "state", "within_quota"))
        .isEqualTo(1);
    assertThat(scrape.value("sluice_backend_state", "pool", "nvidia", "backend", "b1", "state", "quota_exceeded"))
        .isEqualTo(1);
    double used = scrape.value("sluice_quota_window_usage_tokens", one);
    assertThat(used).isGreaterThanOrEqualTo(2_000);
    assertThat(scrape.value("sluice_quota_budget_tokens", one)).isEqualTo(2_000);
    assertThat(scrape.value("sluice_quota_usage_ratio", one)).isEqualTo(used / 2_000);
    assertThat(scrape.value("sluice_quota_threshold_ratio", one)).isEqualTo(0.9);
    assertThat(scrape.value("sluice_quota_trips_total", one)).isEqualTo(1);
    assertThat(scrape.value("sluice_quota_probes_total", one)).isZero();
    assertThat(scrape.value("sluice_tpm_limit_tokens", one)).isEqualTo(1_000);
    // The 2,000 tokens were charged to the minute's budget of 1,000: in debt for a minute, refilling at 17 a second.
    assertThat(scrape.value("sluice_tpm_available_tokens", one)).isNegative().isGreaterThan(-1_100.0);
    assertThat(scrape.value("sluice_provider_remaining_requests", one)).isEqualTo(42);
    assertThat(scrape.value("sluice_provider_remaining_tokens", one)).isEqualTo(31_000);
    assertThat(scrape.value("sluice_tokens_total", "pool", "nvidia", "backend", "b1", "kind", "prompt"))
        .isEqualTo(usage.get("prompt_tokens").asDouble()).isPositive();
    assertThat(scrape.value("sluice_tokens_total", "pool", "nvidia", "backend", "b1", "kind", "completion"))
        .isEqualTo(usage.get("completion_tokens").asDouble()).isPositive();
    assertThat(scrape.value("sluice_tokens_total", "pool", "nvidia", "backend", "b2", "kind", "prompt")).isZero();
    // b2 has no budget, no tpm and no word from its provider: no sample rather than a 0 or -1 taken for a value.
    assertThat(scrape.value("sluice_quota_window_usage_tokens", two)).isZero();
    assertThat(scrape.value("sluice_quota_trips_total", two)).isZero();
    for (String absent : List.of("sluice_quota_budget_tokens", "sluice_quota_usage_ratio",
        "sluice_quota_threshold_ratio", "sluice_tpm_limit_tokens", "sluice_tpm_available_tokens",
        "sluice_provider_remaining_requests", "sluice_provider_remaining_tokens")) {
      assertThat(scrape.samples).as(absent).doesNotContainKey(absent + "{backend=\"b2\",pool=\"nvidia\"}");
    }
  }

  @Test
  void seriesThatApplyToNoBackendAreLeftOutWhole() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    chat(sluice, "normal");

    Scrape scrape = scrapeAfter(sluice, 1);

    assertThat(scrape.sampleNames).contains("sluice_quota_state", "sluice_quota_window_usage_tokens",
        "sluice_tokens_total").doesNotContain("sluice_quota_budget_tokens", "sluice_tpm_limit_tokens",
        "sluice_provider_remaining_requests");
    assertThat(scrape.value("sluice_quota_state", "pool", "nvidia", "backend", "nvidia-default", "state",
        "within_quota")).isEqualTo(1);
  }

  @Test
  void noSeriesIsLabelledByModelCallerOrRequest() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    chat(sluice, "urgent");
    Scrape scrape = scrapeAfter(sluice, 1);
    assertThat(scrape.labelNames).isSubsetOf(ALLOWED_LABELS).doesNotContain("model", "request", "request_id");
    assertThat(scrape.text).doesNotContain("llama");
  }

  @Test
  void aRetriedUpstream429IsCountedOnceAmongUpstreamErrors() throws Exception {
    FakeUpstream upstream = new FakeUpstream(429, 200);
    running.add(upstream);
    Sluice sluice = sluice(upstream.baseUrl(), Map.of());
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(200);

    Scrape scrape = scrapeAfter(sluice, 1);
    assertThat(scrape.value("sidecar_upstream_errors_total", "status_code", "429", "provider", "nvidia"))
        .isEqualTo(1);
    assertThat(scrape.value("sidecar_requests_total", "priority", "normal", "status", "200")).isEqualTo(1);
    assertThat(scrape.value("sluice_requeued_total", "pool", "nvidia")).isEqualTo(1);
    assertThat(scrape.samples).doesNotContainKey("sidecar_requests_total{priority=\"normal\",status=\"429\"}");
  }

  @Test
  void upstreamErrorsAndFailuresAreCountedByStatusCode() throws Exception {
    // A 5xx goes to the pool's only backend again, up to max_attempts (3): the caller sees the third.
    FakeUpstream upstream = new FakeUpstream(500, 500, 500, 400);
    running.add(upstream);
    Sluice sluice = sluice(upstream.baseUrl(), Map.of());
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(500);
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(400);
    Sluice unreachable = sluice("http://127.0.0.1:" + closedPort() + "/v1", Map.of());
    assertThat(chat(unreachable, "normal").statusCode()).isEqualTo(502);

    Scrape scrape = scrapeAfter(sluice, 2);
    // Every attempt counts: the two retried 500s and the one the caller saw.
    assertThat(scrape.value("sidecar_upstream_errors_total", "status_code", "500", "provider", "nvidia"))
        .isEqualTo(3);
    assertThat(scrape.value("sidecar_upstream_errors_total", "status_code", "400", "provider", "nvidia"))
        .isEqualTo(1);
    assertThat(scrape.value("sluice_backend_requests_total", "pool", "nvidia", "backend", "nvidia-default",
        "class", "5xx")).isEqualTo(1);
    Scrape failed = scrapeAfter(unreachable, 1);
    assertThat(failed.value("sidecar_upstream_errors_total", "status_code", "connect", "provider", "nvidia"))
        .isEqualTo(3);
    assertThat(failed.value("sidecar_requests_total", "priority", "normal", "status", "502")).isEqualTo(1);
  }

  @Test
  void passthroughTrafficIsItsOwnProvider() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + sluice.port() + "/v1/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(CHAT.replace("nvidia/llama", "other/model"))).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    Scrape scrape = scrapeAfter(sluice, 1);
    assertThat(scrape.value("sidecar_upstream_latency_seconds_count", "provider", "passthrough")).isEqualTo(1);
    assertThat(scrape.value("sluice_backend_requests_total", "pool", "passthrough", "backend", "passthrough",
        "class", "2xx")).isEqualTo(1);
    assertThat(scrape.value("sidecar_upstream_latency_seconds_count", "provider", "nvidia")).isZero();
  }

  @Test
  void queueDepthShowsTheRequestsWaiting() throws Exception {
    // One token and a refill a minute: the first request takes it, the next three wait.
    Sluice sluice = sluice(sim().baseUrl(), Map.of("SIDECAR_RATE_RPM", "1", "SIDECAR_BUCKET_CAPACITY", "1"));
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(200);
    List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiting.add(http.sendAsync(chatRequest(sluice, "high"), HttpResponse.BodyHandlers.ofString()));
    }
    await().atMost(Duration.ofSeconds(20))
        .until(() -> scrape(sluice).value("sidecar_queue_depth", "priority", "high") == 3);
    Scrape scrape = scrape(sluice);
    assertThat(scrape.value("sluice_queue_depth", "pool", "nvidia", "priority", "high")).isEqualTo(3);
    assertThat(scrape.value("sluice_queue_size", "pool", "nvidia")).isEqualTo(3);
    assertThat(scrape.value("sidecar_queue_depth", "priority", "normal")).isZero();
    assertThat(scrape.value("sidecar_tokens_available")).isZero();
    // No backend has more than 5 % of its tokens left: not healthy by the readiness rule.
    assertThat(scrape.value("sidecar_health_status")).isZero();
    sluice.close(Duration.ZERO);
    for (CompletableFuture<HttpResponse<String>> response : waiting) {
      assertThat(response.get().statusCode()).isEqualTo(503);
    }
  }

  @Test
  void openMetricsWhenAskedForTheClassicTextFormatOtherwise() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    int port = sluice.metricsPort().orElseThrow();
    HttpResponse<String> open = get(port, "/metrics", "Accept",
        "application/openmetrics-text; version=1.0.0; charset=utf-8");
    assertThat(open.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type)
        .startsWith("application/openmetrics-text; version=1.0.0"));
    assertThat(open.body()).contains("# TYPE sidecar_fallback_passthrough counter").endsWith("# EOF\n");
    HttpResponse<String> text = get(port, "/metrics");
    assertThat(text.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type)
        .startsWith("text/plain; version=0.0.4"));
    assertThat(text.body()).contains("# TYPE sidecar_fallback_passthrough_total counter").doesNotContain("# EOF");
    HttpResponse<String> prometheus = get(port, "/metrics", "Accept",
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,"
            + "text/plain;version=0.0.4;q=0.3");
    assertThat(prometheus.statusCode()).isEqualTo(200);
    assertThat(prometheus.headers().firstValue("Content-Type")).hasValueSatisfying(type -> assertThat(type)
        .startsWith("text/plain; version=0.0.4"));
  }

  @Test
  void theMetricsPortServesOnlyMetrics() throws Exception {
    Sluice sluice = sluice(sim().baseUrl(), Map.of());
    int port = sluice.metricsPort().orElseThrow();
    assertThat(port).isNotEqualTo(sluice.port());
    for (String path : List.of("/", "/status", "/health", "/v1/models", "/metrics/x")) {
      HttpResponse<String> response = get(port, path);
      assertThat(response.statusCode()).as(path).isEqualTo(404);
      assertThat(response.body()).as(path).isEqualTo("{\"error\":{\"message\":\"The metrics port serves only GET"
          + " /metrics.\",\"type\":\"invalid_request_error\",\"code\":\"not_found\"}}");
    }
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
        .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).contains("GET, HEAD");
    assertThat(post.body()).contains("\"code\":\"method_not_allowed\"");
  }

  @Test
  void theProxyPortsMetricsPathIsProxiedNotServed() throws Exception {
    FakeUpstream upstream = new FakeUpstream(404);
    running.add(upstream);
    Sluice sluice = sluice(upstream.baseUrl(), Map.of());
    HttpResponse<String> response = get(sluice.port(), "/metrics");
    assertThat(response.body()).doesNotContain("# TYPE");
    assertThat(upstream.paths).containsExactly("/v1/metrics"); // the upstream base URL ends in /v1
  }

  @Test
  void switchedOffThereIsNoListener() throws Exception {
    int port = closedPort();
    Sluice sluice = sluice(sim().baseUrl(), Map.of("SIDECAR_METRICS_ENABLED", "false",
        "SIDECAR_METRICS_PORT", Integer.toString(port)));
    assertThat(chat(sluice, "normal").statusCode()).isEqualTo(200);
    assertThat(sluice.metricsPort()).isEmpty();
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
  }

  @Test
  void theGrafanaDashboardNamesOnlyMetricsSluiceServes() throws Exception {
    JsonNode dashboard = new ObjectMapper().readTree(Path.of("deploy", "grafana", "sluice.json").toFile());
    assertThat(dashboard.path("schemaVersion").asInt()).isGreaterThanOrEqualTo(36);
    List<String> variables = new ArrayList<>();
    dashboard.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
    assertThat(variables).contains("datasource", "pool", "backend");
    List<String> expressions = new ArrayList<>();
    collectExpressions(dashboard, expressions);
    assertThat(expressions).hasSizeGreaterThan(20);

    // Every kind of backend the panels show: one with a budget and a tpm limit whose provider sent its counts.
    Sluice sluice = budgets();
    chat(sluice, "normal");
    providerSays(sluice.pools().getFirst().backends().getFirst(), 42, 31_000);
    Scrape scrape = scrapeAfter(sluice, 1);
    Pattern metric = Pattern.compile("\\b(?:sidecar|sluice)_[a-z0-9_]+");
    Set<String> named = new TreeSet<>();
    for (String expression : expressions) {
      Matcher m = metric.matcher(expression);
      while (m.find()) {
        named.add(m.group());
      }
    }
    assertThat(named).hasSizeGreaterThan(20);
    assertThat(named).as("metrics the dashboard queries").isSubsetOf(scrape.sampleNames);
  }

  /** Every PromQL text in the dashboard: panel targets' {@code expr} and the variables' queries. */
  private static void collectExpressions(JsonNode node, List<String> out) {
    if (node.isObject()) {
      node.properties().forEach(field -> {
        if ((field.getKey().equals("expr") || field.getKey().equals("definition")) && field.getValue().isTextual()) {
          out.add(field.getValue().asText());
        } else {
          collectExpressions(field.getValue(), out);
        }
      });
    } else if (node.isArray()) {
      node.forEach(child -> collectExpressions(child, out));
    }
  }

  /** A loopback port with nothing listening on it. */
  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  /** An upstream answering with the given statuses in turn (the last one from then on), with JSON bodies. */
  private static final class FakeUpstream implements AutoCloseable {
    final BlockingQueue<String> paths = new LinkedBlockingQueue<>();
    private final Server server = new Server();
    private final ServerConnector connector = new ServerConnector(server);

    FakeUpstream(int... statuses) throws Exception {
      BlockingQueue<Integer> script = new LinkedBlockingQueue<>();
      for (int status : statuses) {
        script.add(status);
      }
      int last = statuses[statuses.length - 1];
      connector.setHost("127.0.0.1");
      server.addConnector(connector);
      server.setHandler(new Handler.Abstract.NonBlocking() {
        @Override
        public boolean handle(Request request, Response response, Callback callback) {
          paths.add(request.getHttpURI().getPath());
          Integer next = script.poll();
          int status = next == null ? last : next;
          String body = status < 400
              ? "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
                  + "{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}]}"
              : "{\"error\":{\"message\":\"status " + status + "\",\"type\":\"error\",\"code\":\"e" + status + "\"}}";
          response.setStatus(status);
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
          response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
          return true;
        }
      });
      server.start();
    }

    String baseUrl() {
      return "http://127.0.0.1:" + connector.getLocalPort() + "/v1";
    }

    @Override
    public void close() throws Exception {
      server.stop();
    }
  }
}
