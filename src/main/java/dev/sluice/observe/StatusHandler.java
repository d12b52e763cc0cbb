package dev.sluice.observe;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.StoreWrites;
import dev.sluice.http.JsonAnswer;
import dev.sluice.http.OpenAiError;
import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.RetreatSnapshot;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import dev.sluice.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Sluice's own read-only endpoints: {@code GET /health} (alive), {@code GET /health/ready} (the first pool's first
 * backend answers a real request, every queue is under 90 % full and every pool has a backend with more than 5 % of
 * its bucket left; 503 otherwise) and {@code GET /status} (counters and tokens since start, queues, buckets,
 * retreat state and token budgets).
 * Every other path is left to the next handler. Thread-safe; the readiness probe completes asynchronously, so no
 * thread waits on it.
 */
public final class StatusHandler extends Handler.Abstract.NonBlocking {
  /** The {@code Retry-After} of a not-ready answer: a probe period, as load balancers probe every few seconds. */
  static final long NOT_READY_RETRY_AFTER_SECONDS = 5;

  private final JsonAnswer json = new JsonAnswer();
  private final Clock clock;
  private final long startNanos;
  private final String version;
  private final ProxyStats stats;
  private final Supplier<CompletableFuture<Boolean>> upstreamReachable;
  private final List<PoolView> pools;
  private final BiConsumer<Request, Response> nameResponse;
  private final Supplier<StoreWrites> store;

  /**
   * @param upstreamReachable probes the default pool's upstream
   * @param pools the pools, read at each request
   * @param nameResponse puts the request's id on its answer, as on every answer Sluice sends
   * @param store what the state store has written
   */
  public StatusHandler(Clock clock, String version, ProxyStats stats,
      Supplier<CompletableFuture<Boolean>> upstreamReachable, List<? extends PoolView> pools,
      BiConsumer<Request, Response> nameResponse, Supplier<StoreWrites> store) {
    this.store = store;
    this.clock = clock;
    this.startNanos = clock.nanoTime();
    this.version = version;
    this.stats = stats;
    this.upstreamReachable = upstreamReachable;
    this.pools = List.copyOf(pools);
    this.nameResponse = nameResponse;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = request.getHttpURI().getPath();
    if (!path.equals("/health") && !path.equals("/health/ready") && !path.equals("/status")) {
      return false;
    }
    nameResponse.accept(request, response);
    if (!"GET".equals(request.getMethod()) && !"HEAD".equals(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      new OpenAiError(405, "invalid_request_error", "method_not_allowed", "Use GET for " + path + ".")
          .write(response, callback);
      return true;
    }
    switch (path) {
      case "/health" -> write(response, callback, 200, health());
      case "/health/ready" -> upstreamReachable.get().whenComplete((reachable, failure) -> {
        boolean upstream = Boolean.TRUE.equals(reachable);
        List<PoolSnapshot> snapshots = snapshots();
        boolean queueHealthy = snapshots.stream().allMatch(StatusHandler::queueHealthy);
        boolean bucketHealthy = snapshots.stream().allMatch(StatusHandler::tokenBucketHealthy);
        boolean ready = upstream && queueHealthy && bucketHealthy;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ready", ready);
        body.put("upstream_reachable", upstream);
        body.put("queue_healthy", queueHealthy);
        body.put("token_bucket_healthy", bucketHealthy);
        if (!ready) {
          response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(NOT_READY_RETRY_AFTER_SECONDS));
        }
        write(response, callback, ready ? 200 : 503, body);
      });
      default -> write(response, callback, 200, status());
    }
    return true;
  }

  private long uptimeSeconds() {
    return (clock.nanoTime() - startNanos) / 1_000_000_000L;
  }

  private Map<String, Object> health() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("status", "ok");
    body.put("uptime", uptimeSeconds());
    body.put("version", version);
    return body;
  }

  private Map<String, Object> status() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("version", version);
    body.put("uptime_seconds", uptimeSeconds());
    body.put("requests", stats.requests());
    body.put("errors", stats.errors());
    body.put("tokens", stats.tokens());
    body.put("pools", snapshots().stream().map(this::pool).toList());
    StoreWrites writes = store.get();
    Map<String, Object> stored = new LinkedHashMap<>();
    stored.put("path", writes.path());
    stored.put("batches", writes.batches());
    stored.put("failed_batches", writes.failedBatches());
    stored.put("last_write_at", writes.lastWriteMillis() == 0 ? null
        : Instant.ofEpochMilli(writes.lastWriteMillis()).toString());
    body.put("store", stored);
    return body;
  }

  private List<PoolSnapshot> snapshots() {
    return pools.stream().map(PoolView::snapshot).toList();
  }

  /** Less than 90 % of the queue is taken. */
  static boolean queueHealthy(PoolSnapshot pool) {
    return pool.size() * 10L < pool.queueMaxSize() * 9L;
  }

  /** Some backend of the pool has more than 5 % of its bucket left. */
  static boolean tokenBucketHealthy(PoolSnapshot pool) {
    return pool.backends().stream().anyMatch(b -> b.tokens() * 20L > b.capacity());
  }

  private Map<String, Object> pool(PoolSnapshot pool) {
    Map<String, Object> depth = new LinkedHashMap<>();
    pool.depth().forEach((priority, n) -> depth.put(priority.label(), n));
    Map<String, Object> queue = new LinkedHashMap<>();
    queue.put("size", pool.size());
    queue.put("max_size", pool.queueMaxSize());
    queue.put("full_policy", pool.fullPolicy().name().toLowerCase(java.util.Locale.ROOT));
    queue.put("depth", depth);
    queue.put("dispatched", pool.dispatched());
    queue.put("requeued_after_429", pool.requeued());
    queue.put("timed_out", pool.timedOut());
    queue.put("rejected_full", pool.rejectedFull());
    queue.put("evicted", pool.evicted());
    queue.put("passed_through_full", pool.passedThroughFull());
    queue.put("spilled", pool.spilled());
    queue.put("sent_to_emergency", pool.sentToEmergency());
    queue.put("no_backend", pool.noBackend());
    queue.put("retry_budget", Map.of("first_attempts", pool.retryBudget().firstAttempts(),
        "retries", pool.retryBudget().retries()));
    queue.put("refused_at_limit", pool.refusedAtLimit());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", pool.pool());
    m.put("queue", queue);
    m.put("tokens", stats.tokens(pool.pool()));
    m.put("backends", pool.backends().stream().map(StatusHandler::backend).toList());
    return m;
  }

  private static Map<String, Object> backend(BackendSnapshot backend) {
    Map<String, Object> bucket = new LinkedHashMap<>();
    bucket.put("tokens", backend.tokens());
    bucket.put("capacity", backend.capacity());
    bucket.put("rate_rpm", backend.rateRpm());
    RetreatSnapshot r = backend.retreat();
    Map<String, Object> retreat = new LinkedHashMap<>();
    retreat.put("state", r.state().name());
    retreat.put("effective_rpm", r.currentRpm());
    retreat.put("base_rpm", r.baseRpm());
    retreat.put("ratio_429", Math.round(r.ratio429() * 10_000) / 10_000.0);
    retreat.put("alerts", r.alerts());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", backend.id());
    m.put("state", backend.state());
    backend.outOfService().ifPresent(out -> m.put("out_of_service", out.describe()));
    m.put("base_url", backend.baseUrl().toString());
    m.put("has_key", backend.hasKey());
    m.put("bucket", bucket);
    m.put("retreat", retreat);
    m.put("retry_after_remaining_ms", backend.retryAfterRemainingNanos() / 1_000_000);
    m.put("in_flight", backend.inFlight());
    m.put("concurrency_limit", backend.concurrencyLimit());
    m.put("concurrency_mode", backend.adaptiveConcurrency() ? "adaptive" : "fixed");
    m.put("cooldown_remaining_ms", backend.cooldownRemainingNanos() / 1_000_000);
    m.put("consecutive_failures", backend.consecutiveFailures());
    m.put("last_429", backend.lastRefusal().map(kind -> kind.name().toLowerCase(java.util.Locale.ROOT)).orElse(null));
    QuotaSnapshot q = backend.quota();
    boolean budget = q.budgetTokens() > 0;
    Map<String, Object> quota = new LinkedHashMap<>();
    quota.put("state", q.state().name());
    quota.put("window_usage_tokens", q.windowUsageTokens());
    quota.put("budget_tokens", budget ? q.budgetTokens() : null);
    quota.put("usage_percent", budget ? Math.round(q.usagePercent() * 100) / 100.0 : null);
    m.put("quota", quota);
    m.put("tpm", backend.tpm() > 0 ? backend.tpm() : null);
    m.put("tpm_available", backend.tpm() > 0 ? backend.tpmAvailable() : null);
    m.put("provider_remaining_requests", backend.providerRequestsLeft() >= 0 ? backend.providerRequestsLeft() : null);
    m.put("provider_remaining_tokens", backend.providerTokensLeft() >= 0 ? backend.providerTokensLeft() : null);
    return m;
  }

  private void write(Response response, Callback callback, int status, Object body) {
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    json.write(response, callback, status, body);
  }

}
