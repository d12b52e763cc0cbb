package dev.sluice.observe;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Priority;
import dev.sluice.backend.RefusalKind;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.QuotaState;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import dev.sluice.time.Clock;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * The series read from the pools at scrape time: queues, counters the pools keep, buckets, retreat, plus health and
 * uptime. Each scrape takes one snapshot per pool (a short lock each, no I/O) and builds every series from those.
 *
 * <p>The {@code sidecar_*} gauges describe the default pool (the one named {@code nvidia}, else the first), as the
 * earlier sidecar's described its only pool. The {@code sluice_*} series cover every pool and backend, labelled
 * by configured ids; {@link #POOL_SERIES} and {@link #BACKEND_SERIES} list them, so that a new field of a snapshot
 * becomes a series by adding one line there. Three per-backend series carry a third label and are built beside them:
 * {@code sluice_backend_state} and {@code sluice_quota_state} (one series per {@code state}, 1 for the one in force)
 * and {@code sluice_backend_upstream_429_total} (per {@code kind}).
 *
 * <p>Thread-safe: holds no state of its own besides its start instant; scrapes may run concurrently.
 */
final class PoolMetrics implements MultiCollector {
  /** One series per pool, labelled {@code pool}. */
  static final List<Series<PoolSnapshot>> POOL_SERIES = List.of(
      Series.gauge("sluice_queue_capacity", "Waiters the pool's queue holds at most.", PoolSnapshot::queueMaxSize),
      Series.gauge("sluice_queue_size", "Waiters in the pool's queue, every priority.", PoolSnapshot::size),
      Series.counter("sluice_dispatched", "Waiters sent upstream.", PoolSnapshot::dispatched),
      Series.counter("sluice_requeued", "Requests put back in the queue after an upstream failure before the first"
          + " byte (a 429, a 5xx, a refused key, a connect failure, a reset or a first-byte timeout).",
          PoolSnapshot::requeued),
      Series.counter("sluice_passthrough", "Newcomers sent without waiting because the queue was full"
          + " (passthrough policy).", PoolSnapshot::passedThroughFull),
      Series.counter("sluice_evicted", "Waiters dropped to make room for a more urgent newcomer (drop_lowest).",
          PoolSnapshot::evicted),
      Series.counter("sluice_spilled", "Waiters moved to the fallback pool after spill_after_seconds (or at once"
          + " when no backend was in service).", PoolSnapshot::spilled),
      Series.counter("sluice_sent_to_emergency", "Waiters sent unshaped to an emergency upstream.",
          PoolSnapshot::sentToEmergency),
      Series.counter("sluice_no_backend", "Waiters answered 503 because no backend of the pool was in service and"
          + " there was nowhere to spill them.", PoolSnapshot::noBackend),
      Series.gauge("sluice_retry_budget_first_attempts", "First attempts in the retry budget's sliding window.",
          p -> p.retryBudget().firstAttempts()),
      Series.gauge("sluice_retry_budget_retries", "Retries after failures in the retry budget's sliding window.",
          p -> p.retryBudget().retries()));

  /** One series per backend, labelled {@code pool} and {@code backend}. */
  static final List<Series<BackendSnapshot>> BACKEND_SERIES = List.of(
      Series.gauge("sluice_backend_tokens_available", "Whole tokens in the backend's bucket.",
          BackendSnapshot::tokens),
      Series.gauge("sluice_backend_token_capacity", "The bucket's burst size, requests.", BackendSnapshot::capacity),
      Series.gauge("sluice_backend_configured_rate_rpm", "The configured rate, requests per minute.",
          b -> b.retreat().baseRpm()),
      Series.gauge("sluice_backend_effective_rate_rpm", "The bucket's refill rate in force, requests per minute.",
          BackendSnapshot::rateRpm),
      Series.gauge("sluice_backend_retreat_state", "Adaptive retreat: 0 NORMAL, 1 RETREAT, 2 RECOVER.",
          b -> b.retreat().state().ordinal()),
      Series.counter("sluice_backend_retreat_alerts", "Cuts whose upstream 429 share was above the alert ratio.",
          b -> b.retreat().alerts()),
      Series.gauge("sluice_backend_upstream_429_ratio", "Share of the current rate's answers in the window that"
          + " were 429, 0..1.", b -> b.retreat().ratio429()),
      Series.gauge("sluice_backend_in_flight", "Requests sent to the backend and not yet ended.",
          BackendSnapshot::inFlight),
      Series.gauge("sluice_backend_retry_after_remaining_seconds", "How long the upstream's last Retry-After still"
          + " holds the backend, seconds.", b -> b.retryAfterRemainingNanos() / 1e9),
      Series.gauge("sluice_backend_concurrency_limit", "Requests the backend may have in flight at once, fixed or"
          + " learned.", BackendSnapshot::concurrencyLimit),
      Series.gauge("sluice_backend_concurrency_adaptive", "1 when the concurrency limit is learned (adaptive mode),"
          + " 0 when fixed.", b -> b.adaptiveConcurrency() ? 1 : 0),
      Series.gauge("sluice_backend_cooldown_remaining_seconds", "How long the backend's cooldown still lasts,"
          + " seconds; 0 when not cooling.", b -> b.cooldownRemainingNanos() / 1e9),
      Series.gauge("sluice_backend_consecutive_failures", "Failures since the backend's last success, which set the"
          + " next cooldown's length.", BackendSnapshot::consecutiveFailures),
      Series.counter("sluice_backend_cooldowns", "Cooldowns started (a failure while not cooling; extensions not"
          + " counted).", BackendSnapshot::cooldownsStarted),
      Series.gauge("sluice_quota_window_usage_tokens", "Tokens the backend used in its quota window (sliding,"
          + " window_hours long).", b -> b.quota().windowUsageTokens()),
      Series.gaugeWhen("sluice_quota_budget_tokens", "The backend's token budget per quota window; absent without"
          + " one.", PoolMetrics::hasBudget, b -> b.quota().budgetTokens()),
      Series.gaugeWhen("sluice_quota_usage_ratio", "Tokens used in the quota window over the budget: 1 is the whole"
          + " budget (above 1 when answers overshot it); absent without a budget.", PoolMetrics::hasBudget,
          b -> (double) b.quota().windowUsageTokens() / b.quota().budgetTokens()),
      Series.gaugeWhen("sluice_quota_threshold_ratio", "Share of the budget at which the quota guard trips, 0..1;"
          + " absent without a budget.", PoolMetrics::hasBudget, b -> b.quota().thresholdPercent() / 100.0),
      Series.counter("sluice_quota_trips", "Times the quota guard went from within quota to exceeded (usage at the"
          + " threshold, or the provider's quota error).", b -> b.quota().trips()),
      Series.counter("sluice_quota_probes", "Probe requests let through to a backend whose quota was exceeded.",
          b -> b.quota().probes()),
      Series.gaugeWhen("sluice_tpm_limit_tokens", "Tokens per minute the backend may be sent (tpm); absent without"
          + " such a limit.", b -> b.tpm() > 0, BackendSnapshot::tpm),
      Series.gaugeWhen("sluice_tpm_available_tokens", "Tokens of the tokens-per-minute budget available now"
          + " (negative while an excess is paid back); absent without a tpm limit.", b -> b.tpm() > 0,
          BackendSnapshot::tpmAvailable),
      Series.gaugeWhen("sluice_provider_remaining_requests", "Requests the provider's x-ratelimit-remaining-requests"
          + " said remain until its reset, less those sent since; absent when no such count is in force.",
          b -> b.providerRequestsLeft() >= 0, BackendSnapshot::providerRequestsLeft),
      Series.gaugeWhen("sluice_provider_remaining_tokens", "Tokens the provider's x-ratelimit-remaining-tokens said"
          + " remain until its reset, less those reserved since; absent when no such count is in force.",
          b -> b.providerTokensLeft() >= 0, BackendSnapshot::providerTokensLeft));

  /** The values of {@code sluice_backend_state}'s {@code state} label, one series each, 1 for the state in force. */
  static final List<String> BACKEND_STATES = List.of("active", "cooling", "quota_exceeded", "dead", "disabled");

  /** The values of {@code sluice_quota_state}'s {@code state} label, one series each, 1 for the state in force. */
  static final List<QuotaState> QUOTA_STATES = List.of(QuotaState.values());

  private static final List<Priority> PRIORITIES = List.of(Priority.values());
  private final List<PoolView> pools;
  private final int defaultPool;
  private final Clock clock;
  private final long startNanos;

  /** @param pools every pool, in configured order; read at each scrape */
  PoolMetrics(List<? extends PoolView> pools, Clock clock) {
    this.pools = List.copyOf(pools);
    int named = 0;
    for (int i = 0; i < this.pools.size(); i++) {
      if (this.pools.get(i).snapshot().pool().equals(SluiceConfig.DEFAULT_POOL_NAME)) {
        named = i;
        break;
      }
    }
    this.defaultPool = named;
    this.clock = clock;
    this.startNanos = clock.nanoTime();
  }

  @Override
  public MetricSnapshots collect() {
    List<PoolSnapshot> snapshots = new ArrayList<>(pools.size());
    for (PoolView pool : pools) {
      snapshots.add(pool.snapshot());
    }
    List<MetricSnapshot> out = new ArrayList<>();
    sidecarSeries(snapshots, out);
    poolSeries(snapshots, out);
    backendSeries(snapshots, out);
    return new MetricSnapshots(out);
  }

  /** The earlier sidecar's series: the default pool's state, and health and uptime over everything. */
  private void sidecarSeries(List<PoolSnapshot> snapshots, List<MetricSnapshot> out) {
    PoolSnapshot main = snapshots.get(defaultPool);
    long tokens = 0;
    long rateRpm = 0;
    int retreatState = 0;
    double ratio429 = 0;
    for (BackendSnapshot b : main.backends()) {
      tokens += b.tokens();
      rateRpm += b.rateRpm();
      retreatState = Math.max(retreatState, b.retreat().state().ordinal());
      ratio429 = Math.max(ratio429, b.retreat().ratio429());
    }
    out.add(gauge("sidecar_tokens_available", "Tokens in the default pool's buckets, summed over its backends.",
        point(tokens)));
    out.add(gauge("sidecar_tokens_rate", "The default pool's combined refill rate in force, tokens per second.",
        point(rateRpm / 60.0)));
    List<GaugeDataPointSnapshot> depth = new ArrayList<>(PRIORITIES.size());
    for (Priority priority : PRIORITIES) {
      depth.add(point(main.depth().getOrDefault(priority, 0), "priority", priority.label()));
    }
    out.add(gauge("sidecar_queue_depth", "Waiters in the default pool's queue, by priority.", depth));
    out.add(gauge("sidecar_retreat_state", "The default pool's adaptive retreat, the highest of its backends: 0"
        + " NORMAL, 1 RETREAT, 2 RECOVER.", point(retreatState)));
    out.add(gauge("sidecar_effective_rate_rpm", "The default pool's rate in force, requests per minute, summed over"
        + " its backends.", point(rateRpm)));
    out.add(gauge("sidecar_upstream_429_rate", "The highest share of 429s among the default pool's backends in the"
        + " retreat window, 0..1.", point(ratio429)));
    boolean healthy = snapshots.stream()
        .allMatch(p -> StatusHandler.queueHealthy(p) && StatusHandler.tokenBucketHealthy(p));
    out.add(gauge("sidecar_health_status", "1 when every queue is under 90 % full and every pool has a backend"
        + " with more than 5 % of its tokens, else 0 (the readiness checks that need no network).",
        point(healthy ? 1 : 0)));
    out.add(gauge("sidecar_uptime_seconds", "Seconds since Sluice started.",
        point((clock.nanoTime() - startNanos) / 1e9)));
    long passedThrough = snapshots.stream().mapToLong(PoolSnapshot::passedThroughFull).sum();
    out.add(CounterSnapshot.builder().name("sidecar_fallback_passthrough")
        .help("Requests sent beyond the rate because a queue was full under the passthrough policy, every pool.")
        .dataPoint(CounterDataPointSnapshot.builder().value(passedThrough).build()).build());
  }

  private static void poolSeries(List<PoolSnapshot> snapshots, List<MetricSnapshot> out) {
    for (Series<PoolSnapshot> series : POOL_SERIES) {
      List<Labels> labels = new ArrayList<>(snapshots.size());
      for (PoolSnapshot pool : snapshots) {
        labels.add(Labels.of("pool", pool.pool()));
      }
      out.add(series.snapshot(snapshots, labels));
    }
    List<GaugeDataPointSnapshot> depth = new ArrayList<>();
    List<CounterDataPointSnapshot> refused = new ArrayList<>();
    for (PoolSnapshot pool : snapshots) {
      for (Priority priority : PRIORITIES) {
        depth.add(point(pool.depth().getOrDefault(priority, 0), "pool", pool.pool(), "priority", priority.label()));
      }
      refused.add(counterPoint(pool.rejectedFull(), "pool", pool.pool(), "reason", "queue_full"));
      refused.add(counterPoint(pool.timedOut(), "pool", pool.pool(), "reason", "timed_out"));
      refused.add(counterPoint(pool.refusedAtLimit(), "pool", pool.pool(), "reason", "refused_at_limit"));
    }
    out.add(gauge("sluice_queue_depth", "Waiters in the pool's queue, by priority.", depth));
    CounterSnapshot.Builder refusedSeries = CounterSnapshot.builder().name("sluice_refused")
        .help("Requests the pool answered itself: queue_full (503, reject policy), timed_out (429, waited too"
            + " long) and refused_at_limit (429, queue full and every backend at its upstream limit).");
    refused.forEach(refusedSeries::dataPoint);
    out.add(refusedSeries.build());
  }

  private static void backendSeries(List<PoolSnapshot> snapshots, List<MetricSnapshot> out) {
    List<BackendSnapshot> backends = new ArrayList<>();
    List<Labels> labels = new ArrayList<>();
    for (PoolSnapshot pool : snapshots) {
      for (BackendSnapshot backend : pool.backends()) {
        backends.add(backend);
        labels.add(Labels.of("pool", pool.pool(), "backend", backend.id()));
      }
    }
    for (Series<BackendSnapshot> series : BACKEND_SERIES) {
      out.add(series.snapshot(backends, labels));
    }
    GaugeSnapshot.Builder state = GaugeSnapshot.builder().name("sluice_backend_state")
        .help("1 for the backend's state (active, cooling, quota_exceeded, dead, disabled), 0 for the others.");
    GaugeSnapshot.Builder quota = GaugeSnapshot.builder().name("sluice_quota_state")
        .help("1 for the quota guard's state (within_quota, quota_exceeded), 0 for the other.");
    CounterSnapshot.Builder refused = CounterSnapshot.builder().name("sluice_backend_upstream_429")
        .help("The upstream's 429s, by what they were about: rpm, tpm, concurrency or unknown.");
    for (BackendSnapshot backend : backends) {
      String current = backend.state();
      for (String s : BACKEND_STATES) {
        state.dataPoint(point(s.equals(current) ? 1 : 0, "pool", backend.pool(), "backend", backend.id(), "state", s));
      }
      QuotaState quotaState = backend.quota().state();
      for (QuotaState q : QUOTA_STATES) {
        quota.dataPoint(point(q == quotaState ? 1 : 0, "pool", backend.pool(), "backend", backend.id(), "state",
            q.name().toLowerCase(Locale.ROOT)));
      }
      for (RefusalKind kind : RefusalKind.values()) {
        refused.dataPoint(counterPoint(backend.refusals().getOrDefault(kind, 0L), "pool", backend.pool(), "backend",
            backend.id(), "kind", kind.label()));
      }
    }
    out.add(state.build());
    out.add(quota.build());
    out.add(refused.build());
  }

  private static boolean hasBudget(BackendSnapshot backend) {
    return backend.quota().budgetTokens() > 0;
  }

  private static GaugeSnapshot gauge(String name, String help, GaugeDataPointSnapshot point) {
    return GaugeSnapshot.builder().name(name).help(help).dataPoint(point).build();
  }

  private static GaugeSnapshot gauge(String name, String help, List<GaugeDataPointSnapshot> points) {
    GaugeSnapshot.Builder builder = GaugeSnapshot.builder().name(name).help(help);
    points.forEach(builder::dataPoint);
    return builder.build();
  }

  private static GaugeDataPointSnapshot point(double value, String... labels) {
    return GaugeDataPointSnapshot.builder().labels(Labels.of(labels)).value(value).build();
  }

  private static CounterDataPointSnapshot counterPoint(double value, String... labels) {
    return CounterDataPointSnapshot.builder().labels(Labels.of(labels)).value(value).build();
  }

  /**
   * One series read from a snapshot: a gauge, or a counter (a total the core keeps; exposed with {@code _total}).
   * An item for which {@code present} is false has no sample at all: a value that does not apply (a budget the
   * backend does not have, a count its provider never sent) is left out rather than shown as 0 or -1, which a
   * query would take for a real value.
   *
   * @param <T> the snapshot it reads
   */
  record Series<T>(String name, String help, boolean counter, Predicate<T> present, ToDoubleFunction<T> value) {
    static <T> Series<T> gauge(String name, String help, ToDoubleFunction<T> value) {
      return new Series<>(name, help, false, item -> true, value);
    }

    /** A gauge with a sample only for the items {@code present} accepts. */
    static <T> Series<T> gaugeWhen(String name, String help, Predicate<T> present, ToDoubleFunction<T> value) {
      return new Series<>(name, help, false, present, value);
    }

    static <T> Series<T> counter(String name, String help, ToDoubleFunction<T> value) {
      return new Series<>(name, help, true, item -> true, value);
    }

    /** The series over {@code items}, each with the labels at the same index. */
    MetricSnapshot snapshot(List<T> items, List<Labels> labels) {
      if (counter) {
        CounterSnapshot.Builder builder = CounterSnapshot.builder().name(name).help(help);
        for (int i = 0; i < items.size(); i++) {
          if (present.test(items.get(i))) {
            builder.dataPoint(CounterDataPointSnapshot.builder().labels(labels.get(i))
                .value(value.applyAsDouble(items.get(i))).build());
          }
        }
        return builder.build();
      }
      GaugeSnapshot.Builder builder = GaugeSnapshot.builder().name(name).help(help);
      for (int i = 0; i < items.size(); i++) {
        if (present.test(items.get(i))) {
          builder.dataPoint(GaugeDataPointSnapshot.builder().labels(labels.get(i))
              .value(value.applyAsDouble(items.get(i))).build());
        }
      }
      return builder.build();
    }
  }
}
