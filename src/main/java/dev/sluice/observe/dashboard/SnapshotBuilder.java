package dev.sluice.observe.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Priority;
import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatSnapshot;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import dev.sluice.time.Clock;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Builds one dashboard snapshot from the pools' views, the traffic counts since the previous build and the event
 * log: a compact chart point (kept in the history), the current state (cards, counters, events) and what the
 * backend cards' fields are (labels and units, which a page needs only when they change).
 *
 * <p>Not thread-safe: each build drains the traffic counts, so only the feed's one builder calls it, under its lock.
 */
final class SnapshotBuilder {
  /** Events a frame carries: those of the last few seconds, so that a client that skipped a frame misses none. */
  static final long FRAME_EVENTS_MILLIS = 5_000;
  static final int FRAME_EVENTS_MAX = 20;
  /** Rate cuts shown on a backend's card. */
  static final int CUTS_PER_BACKEND = 3;

  private final ObjectMapper json = new ObjectMapper();
  private final Clock clock;
  private final List<PoolView> pools;
  private final Traffic traffic;
  private final EventLog events;
  private final long startNanos;
  private long lastBuildNanos;

  SnapshotBuilder(Clock clock, List<? extends PoolView> pools, Traffic traffic, EventLog events) {
    this.clock = clock;
    this.pools = List.copyOf(pools);
    this.traffic = traffic;
    this.events = events;
    this.startNanos = clock.nanoTime();
    this.lastBuildNanos = startNanos;
  }

  /**
   * One snapshot built at one instant.
   *
   * @param nanos when it was built, on the clock's ticker
   * @param point the chart point, JSON
   * @param state the current state, JSON; a backend's {@code fields} carry values only
   * @param fields the backend cards' fields, JSON: {@code [{"name":…,"label":…,"unit":…},…]} in display order,
   *     {@code unit} left out when there is none
   */
  record Snapshot(long nanos, byte[] point, byte[] state, byte[] fields) {}

  Snapshot build() {
    long now = clock.nanoTime();
    long wall = clock.wallTimeMillis();
    // Rates are per second over the time since the previous build: one second while someone watches, longer after a
    // pause (then they are the mean over the pause).
    double seconds = Math.max(1e-3, (now - lastBuildNanos) / 1e9);
    lastBuildNanos = now;

    Map<String, Object> pointPools = new LinkedHashMap<>();
    List<Object> statePools = new ArrayList<>();
    Map<String, Map<String, Object>> definitions = new LinkedHashMap<>();
    for (PoolView view : pools) {
      PoolSnapshot pool = view.snapshot();
      Traffic.Second second = traffic.drainPool(pool.pool());
      coalesceRejections(pool.pool(), second);
      double waitMeanMs = second.waited() == 0 ? 0 : second.waitNanosSum() / 1e6 / second.waited();
      double waitMaxMs = second.waitNanosMax() / 1e6;
      List<Integer> depth = new ArrayList<>();
      for (Priority priority : Priority.values()) {
        depth.add(pool.depth().getOrDefault(priority, 0));
      }
      Map<String, Object> pointBackends = new LinkedHashMap<>();
      List<Object> stateBackends = new ArrayList<>();
      for (BackendSnapshot backend : pool.backends()) {
        Traffic.Second backendSecond = traffic.drainBackend(backend.id());
        RetreatSnapshot retreat = backend.retreat();
        pointBackends.put(backend.id(), List.of(backend.tokens(), retreat.currentRpm(), retreat.baseRpm(),
            round(retreat.ratio429() * 100)));
        stateBackends.add(backend(backend, rates(backendSecond, seconds), definitions, wall));
      }
      Map<String, Object> point = new LinkedHashMap<>();
      point.put("r", rateList(second, seconds));
      point.put("d", depth);
      point.put("w", List.of(round(waitMeanMs), round(waitMaxMs)));
      point.put("b", pointBackends);
      pointPools.put(pool.pool(), point);
      statePools.add(pool(pool, rates(second, seconds), waitMeanMs, waitMaxMs, stateBackends));
    }
    Traffic.Second passthrough = traffic.drainPool(Traffic.PASSTHROUGH);

    Map<String, Object> point = new LinkedHashMap<>();
    point.put("t", wall);
    point.put("pools", pointPools);
    point.put("p", rateList(passthrough, seconds));

    Map<String, Object> state = new LinkedHashMap<>();
    state.put("t", wall);
    state.put("uptime_seconds", (now - startNanos) / 1_000_000_000L);
    state.put("pools", statePools);
    state.put("passthrough", rates(passthrough, seconds));
    state.put("events", events.since(wall - FRAME_EVENTS_MILLIS, FRAME_EVENTS_MAX).stream()
        .map(SnapshotBuilder::event).toList());
    return new Snapshot(now, bytes(point), bytes(state), bytes(definitions.values()));
  }

  /** Sluice's own refusals of this second, one line per pool and kind instead of one per request. */
  private void coalesceRejections(String pool, Traffic.Second second) {
    if (second.limitedBySluice() > 0) {
      events.rejected(pool, second.limitedBySluice(), 429, "rate_limited");
    }
    if (second.queueFull() > 0) {
      events.rejected(pool, second.queueFull(), 503, "queue_full");
    }
  }

  private static Map<String, Object> pool(PoolSnapshot pool, Map<String, Object> rates, double waitMeanMs,
      double waitMaxMs, List<Object> backends) {
    Map<String, Object> depth = new LinkedHashMap<>();
    for (Priority priority : Priority.values()) {
      depth.put(priority.label(), pool.depth().getOrDefault(priority, 0));
    }
    Map<String, Object> queue = new LinkedHashMap<>();
    queue.put("size", pool.size());
    queue.put("max_size", pool.queueMaxSize());
    queue.put("full_policy", pool.fullPolicy().name().toLowerCase(Locale.ROOT));
    queue.put("depth", depth);
    queue.put("wait_mean_ms", round(waitMeanMs));
    queue.put("wait_max_ms", round(waitMaxMs));
    Map<String, Object> totals = new LinkedHashMap<>();
    totals.put("dispatched", pool.dispatched());
    totals.put("passed_through_full", pool.passedThroughFull());
    totals.put("evicted", pool.evicted());
    totals.put("rejected_full", pool.rejectedFull());
    totals.put("timed_out", pool.timedOut());
    totals.put("refused_at_limit", pool.refusedAtLimit());
    totals.put("requeued_after_429", pool.requeued());
    totals.put("spilled", pool.spilled());
    totals.put("sent_to_emergency", pool.sentToEmergency());
    totals.put("no_backend", pool.noBackend());
    Map<String, Object> retryBudget = new LinkedHashMap<>();
    retryBudget.put("first_attempts", pool.retryBudget().firstAttempts());
    retryBudget.put("retries", pool.retryBudget().retries());
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", pool.pool());
    m.put("rates", rates);
    m.put("queue", queue);
    m.put("totals", totals);
    m.put("retry_budget", retryBudget);
    m.put("backends", backends);
    return m;
  }

  /**
   * A backend's card: its retreat {@code state}, its {@code service} state ({@code active}, {@code cooling},
   * {@code quota_exceeded}, {@code dead}, {@code disabled}) with {@code cooling_seconds} left, its {@code quota}
   * (see {@link #quota}) and {@code fields}: a generic set of named values, {@code name: [value]}, or
   * {@code name: [value, max]} for a gauge, or {@code name: [value, max, note]}, so that a later limiter shows on the
   * page by adding an entry here, without a change to the page. Each name's label and unit go to
   * {@code definitions}, once for all backends. A field that does not apply to a backend (a tokens-per-minute
   * budget it lacks, a count its provider never sent) is left out of its card.
   */
  private Map<String, Object> backend(BackendSnapshot backend, Map<String, Object> rates,
      Map<String, Map<String, Object>> definitions, long wallMillis) {
    RetreatSnapshot retreat = backend.retreat();
    Map<String, Object> fields = new LinkedHashMap<>();
    Fields field = (name, label, value, max, unit) -> {
      fields.put(name, max == null ? List.of(value) : List.of(value, max));
      definitions.computeIfAbsent(name, n -> definition(n, label, unit));
    };
    String mode = backend.adaptiveConcurrency() ? "learned" : "fixed";
    field.add("tokens", "tokens available", backend.tokens(), backend.capacity(), "");
    field.add("effective_rpm", "effective rate", retreat.currentRpm(), retreat.baseRpm(), "rpm");
    field.add("configured_rpm", "configured rate", retreat.baseRpm(), null, "rpm");
    field.add("upstream_429_share", "upstream 429 share", round(retreat.ratio429() * 100), 100, "%");
    field.add("concurrency", "in flight / limit", backend.inFlight(), backend.concurrencyLimit(), "");
    // With where the limit comes from as a note: "2 / 8 (learned)".
    fields.put("concurrency", List.of(backend.inFlight(), backend.concurrencyLimit(), mode));
    field.add("consecutive_failures", "consecutive failures", backend.consecutiveFailures(), null, "");
    field.add("cooldowns", "cooldowns started", backend.cooldownsStarted(), null, "");
    field.add("retry_after_remaining", "Retry-After hold", round(backend.retryAfterRemainingNanos() / 1e9), null,
        "s");
    field.add("last_429", "last 429 kind",
        backend.lastRefusal().map(kind -> kind.name().toLowerCase(Locale.ROOT)).orElse("none"), null, "");
    field.add("alerts", "retreat alerts", retreat.alerts(), null, "");
    if (backend.tpm() > 0) {
      field.add("tpm", "tokens per minute", backend.tpmAvailable(), backend.tpm(), "");
    }
    if (backend.providerRequestsLeft() >= 0) {
      field.add("provider_requests_left", "provider: requests left", backend.providerRequestsLeft(), null, "");
    }
    if (backend.providerTokensLeft() >= 0) {
      field.add("provider_tokens_left", "provider: tokens left", backend.providerTokensLeft(), null, "");
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", backend.id());
    m.put("state", retreat.state().name());
    m.put("service", backend.state());
    m.put("cooling_seconds", round(backend.cooldownRemainingNanos() / 1e9));
    Map<String, Object> quota = quota(backend.quota(), wallMillis);
    if (quota != null) {
      m.put("quota", quota);
    }
    m.put("rates", rates);
    m.put("fields", fields);
    m.put("cuts", events.cutsOf(backend.id(), CUTS_PER_BACKEND).stream().map(SnapshotBuilder::event).toList());
    return m;
  }

  /**
   * The quota bar of a backend's card: {@code state} ({@code WITHIN_QUOTA} or {@code QUOTA_EXCEEDED}), {@code used}
   * tokens in the window of {@code hours}, {@code budget} (0 for none) and the {@code threshold} percent; while
   * exceeded also {@code next_probe_seconds} (0 when a probe is due or out) and {@code cap_error}, the provider's
   * quota error, when one holds it. Null, and no bar, for a backend without a budget that is within quota: most
   * backends, whose frames stay as small as before.
   */
  private static Map<String, Object> quota(QuotaSnapshot q, long wallMillis) {
    boolean exceeded = q.state() == QuotaState.QUOTA_EXCEEDED;
    if (q.budgetTokens() == 0 && !exceeded) {
      return null;
    }
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("state", q.state().name());
    m.put("used", q.windowUsageTokens());
    m.put("budget", q.budgetTokens());
    m.put("threshold", q.thresholdPercent());
    m.put("hours", q.windowHoursShown());
    if (exceeded) {
      m.put("next_probe_seconds", Math.max(0, Math.ceilDiv(q.nextProbeMillis() - wallMillis, 1000)));
      if (q.capError()) {
        m.put("cap_error", q.capErrorMessage());
      }
    }
    return m;
  }

  /** Adds one field to a backend's card; {@code max} is null unless the value is drawn as a gauge. */
  @FunctionalInterface
  private interface Fields {
    void add(String name, String label, Object value, Object max, String unit);
  }

  private static Map<String, Object> definition(String name, String label, String unit) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", name);
    m.put("label", label);
    if (!unit.isEmpty()) {
      m.put("unit", unit);
    }
    return m;
  }

  static Map<String, Object> event(EventLog.Event event) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("seq", event.seq());
    m.put("t", event.wallMillis());
    m.put("kind", event.kind());
    m.put("pool", event.pool());
    if (!event.backend().isEmpty()) {
      m.put("backend", event.backend());
    }
    m.put("text", event.text());
    return m;
  }

  /** Requests per second by status class, in the order of {@code r} in chart points. */
  private static List<Double> rateList(Traffic.Second s, double seconds) {
    return List.of(round(s.ok() / seconds), round(s.clientError() / seconds), round(s.limitedBySluice() / seconds),
        round(s.limitedUpstream() / seconds), round(s.serverError() / seconds));
  }

  private static Map<String, Object> rates(Traffic.Second s, double seconds) {
    List<Double> list = rateList(s, seconds);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("2xx", list.get(0));
    m.put("4xx", list.get(1));
    m.put("429_sluice", list.get(2));
    m.put("429_upstream", list.get(3));
    m.put("5xx", list.get(4));
    return m;
  }

  private static double round(double value) {
    return Math.round(value * 100) / 100.0;
  }

  /** All events still kept, for a page's first load. */
  byte[] recentEvents(int limit) {
    return bytes(events.since(Long.MIN_VALUE, limit).stream().map(SnapshotBuilder::event).toList());
  }

  private byte[] bytes(Object value) {
    try {
      return json.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
