package dev.sluice.observe;

import dev.sluice.backend.Outcome;
import dev.sluice.backend.OutcomeListener;
import dev.sluice.backend.Priority;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The series fed by finished requests: counters and histograms over all traffic ({@code sidecar_*}) and per pool
 * and backend ({@code sluice_*}). Label values are the request's priority, its status, and configured pool and
 * backend ids (or {@code passthrough}); never a model id, caller or request.
 *
 * <p>Cheap on the request path: every label child is resolved once and kept (per priority in an array, per pool
 * and backend in a map filled at start, per status in an array filled on first use), so an outcome costs a few
 * map reads and the adder increments of the Prometheus client, no label lookup and no allocation.
 *
 * <p>Thread-safe: called concurrently from every thread that finishes a request; the caches are concurrent and
 * the Prometheus data points are themselves thread-safe.
 */
final class RequestMetrics implements OutcomeListener {
  /**
   * Bucket bounds in seconds, from Sluice's own sub-millisecond overhead to the minutes an LLM stream may last.
   * Classic buckets only: native histograms would cost more per observation.
   */
  static final double[] SECONDS_BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
      0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 300};
  /** Provider, pool and backend label of requests that matched no pool. */
  static final String PASSTHROUGH = "passthrough";
  /** Statuses whose label children are kept in arrays; others (never seen in practice) are looked up each time. */
  private static final int STATUSES = 600;
  private static final double NANOS_PER_SECOND = 1e9;
  private static final List<Priority> PRIORITIES = List.of(Priority.values());

  private final Counter requests;
  private final Counter upstreamErrors;
  private final Histogram upstreamLatency;
  private final Counter backendRequests;
  private final Histogram firstByte;
  private final Counter tokens;
  private final AtomicReferenceArray<CounterDataPoint> requestsByStatus;
  private final DistributionDataPoint[] queueLatency;
  private final DistributionDataPoint overhead;
  private final Map<String, Provider> providers = new ConcurrentHashMap<>();
  private final Provider passthrough;

  /**
   * @param backendsByPool configured backend ids of each pool, so that their series exist (at 0) from the start
   */
  RequestMetrics(PrometheusRegistry registry, Map<String, ? extends Collection<String>> backendsByPool) {
    requests = Counter.builder().name("sidecar_requests_total")
        .help("Requests answered, by priority and the HTTP status sent to the caller (0: none was sent).")
        .labelNames("priority", "status").withoutExemplars().register(registry);
    upstreamErrors = Counter.builder().name("sidecar_upstream_errors_total")
        .help("Upstream answers of 400 or more (429s Sluice retried included) and upstream failures without an"
            + " answer (connect, timeout, failed), by pool or passthrough.")
        .labelNames("status_code", "provider").withoutExemplars().register(registry);
    Histogram queue = seconds(Histogram.builder().name("sidecar_queue_latency_seconds")
        .help("Time requests routed to a pool spent in its queue (0 when a token was free at once).").labelNames("priority"))
        .register(registry);
    upstreamLatency = seconds(Histogram.builder().name("sidecar_upstream_latency_seconds")
        .help("Time from sending a request upstream to the end of its response, by pool or passthrough.")
        .labelNames("provider")).register(registry);
    backendRequests = Counter.builder().name("sluice_backend_requests_total")
        .help("Requests whose last attempt went to the backend, by the class of the status sent to the caller.")
        .labelNames("pool", "backend", "class").withoutExemplars().register(registry);
    firstByte = seconds(Histogram.builder().name("sluice_upstream_first_byte_seconds")
        .help("Time from sending the answered attempt upstream to the upstream's response headers.")
        .labelNames("pool", "backend")).register(registry);
    tokens = Counter.builder().name("sluice_tokens_total")
        .help("Tokens used by the requests whose last attempt went to the backend, as the upstream's usage reported"
            + " them, counted when each request ends: kind prompt or completion.")
        .labelNames("pool", "backend", "kind").withoutExemplars().register(registry);
    Histogram overheadHistogram = seconds(Histogram.builder().name("sluice_overhead_seconds")
        .help("Time Sluice itself added before the caller got the response headers: everything but the queue"
            + " and the waits for the upstream.")).register(registry);

    requestsByStatus = new AtomicReferenceArray<>(PRIORITIES.size() * STATUSES);
    queueLatency = new DistributionDataPoint[PRIORITIES.size()];
    for (Priority priority : PRIORITIES) {
      queueLatency[priority.ordinal()] = queue.labelValues(priority.label());
    }
    overhead = overheadHistogram;
    backendsByPool.forEach((pool, backends) -> {
      Provider provider = providers.computeIfAbsent(pool, Provider::new);
      backends.forEach(provider::backend);
    });
    passthrough = new Provider(PASSTHROUGH);
    passthrough.backend(PASSTHROUGH);
  }

  private static Histogram.Builder seconds(Histogram.Builder builder) {
    return builder.classicOnly().classicUpperBounds(SECONDS_BUCKETS).withoutExemplars();
  }

  @Override
  public void onOutcome(Outcome o) {
    int status = o.status();
    requests(o.priority(), status).inc();
    if (o.pool().isPresent()) { // it went through its pool's queue, if only for an instant
      queueLatency[o.priority().ordinal()].observe(o.queueNanos() / NANOS_PER_SECOND);
    }
    if (o.overheadNanos() > 0) {
      overhead.observe(o.overheadNanos() / NANOS_PER_SECOND);
    }
    if (o.attempts() == 0) {
      return; // nothing went upstream
    }
    Provider provider = o.pool().isPresent() ? provider(o.pool().get()) : passthrough;
    provider.latency.observe(o.upstreamNanos() / NANOS_PER_SECOND);
    // Attempts that failed before the first byte and were retried count as what they got.
    for (String retried : o.retried()) {
      switch (retried) {
        case "connect" -> provider.connect.inc();
        case "timeout" -> provider.timeout.inc();
        case "reset" -> provider.failed.inc();
        default -> provider.error(Integer.parseInt(retried)).inc();
      }
    }
    switch (o.failure()) {
      case UPSTREAM_CONNECT -> provider.connect.inc();
      case UPSTREAM_TIMEOUT -> provider.timeout.inc();
      case UPSTREAM_ERROR -> provider.failed.inc();
      case NONE, CLIENT_DISCONNECTED -> {
        if (status >= 400) { // the upstream's own status, relayed
          provider.error(status).inc();
        }
      }
      default -> { }
    }
    if (o.backendId().isPresent()) {
      BackendChildren backend = provider.backend(o.backendId().get());
      backend.requests(status >= 100 && status < STATUSES ? status / 100 : 0).inc();
      if (o.firstByteNanos() > 0) {
        backend.firstByte.observe(o.firstByteNanos() / NANOS_PER_SECOND);
      }
      if (o.usage().isPresent()) {
        Outcome.Usage usage = o.usage().get();
        // A counter refuses to go down: an upstream's odd negative count is left out, never thrown on this path.
        if (usage.promptTokens() > 0) {
          backend.promptTokens.inc(usage.promptTokens());
        }
        if (usage.completionTokens() > 0) {
          backend.completionTokens.inc(usage.completionTokens());
        }
      }
    }
  }

  private CounterDataPoint requests(Priority priority, int status) {
    if (status < 0 || status >= STATUSES) {
      return requests.labelValues(priority.label(), Integer.toString(status));
    }
    int index = priority.ordinal() * STATUSES + status;
    CounterDataPoint child = requestsByStatus.get(index);
    if (child == null) {
      child = requests.labelValues(priority.label(), Integer.toString(status));
      requestsByStatus.set(index, child);
    }
    return child;
  }

  private Provider provider(String pool) {
    Provider provider = providers.get(pool);
    return provider != null ? provider : providers.computeIfAbsent(pool, Provider::new);
  }

  /** The children of one provider label: a pool, or passthrough. */
  private final class Provider {
    final String name;
    final DistributionDataPoint latency;
    final CounterDataPoint connect;
    final CounterDataPoint timeout;
    final CounterDataPoint failed;
    final AtomicReferenceArray<CounterDataPoint> errors = new AtomicReferenceArray<>(STATUSES);
    final Map<String, BackendChildren> backends = new ConcurrentHashMap<>();

    Provider(String name) {
      this.name = name;
      latency = upstreamLatency.labelValues(name);
      connect = upstreamErrors.labelValues("connect", name);
      timeout = upstreamErrors.labelValues("timeout", name);
      failed = upstreamErrors.labelValues("failed", name);
    }

    CounterDataPoint error(int status) {
      if (status >= STATUSES) {
        return upstreamErrors.labelValues(Integer.toString(status), name);
      }
      CounterDataPoint child = errors.get(status);
      if (child == null) {
        child = upstreamErrors.labelValues(Integer.toString(status), name);
        errors.set(status, child);
      }
      return child;
    }

    BackendChildren backend(String id) {
      BackendChildren children = backends.get(id);
      return children != null ? children : backends.computeIfAbsent(id, b -> new BackendChildren(name, b));
    }
  }

  /**
   * The children of one backend: its first-byte histogram, its tokens (both kinds present from the start, so that
   * an increase is seen from the first request) and its requests per status class.
   */
  private final class BackendChildren {
    /** Indexed by status / 100; index 0 is "none" (no status sent). */
    private static final String[] CLASSES = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
    final String pool;
    final String backend;
    final DistributionDataPoint firstByte;
    final CounterDataPoint promptTokens;
    final CounterDataPoint completionTokens;
    /** Filled on first use, so that a class a backend never answered with adds no series. */
    final AtomicReferenceArray<CounterDataPoint> byClass = new AtomicReferenceArray<>(CLASSES.length);

    BackendChildren(String pool, String backend) {
      this.pool = pool;
      this.backend = backend;
      firstByte = RequestMetrics.this.firstByte.labelValues(pool, backend);
      promptTokens = tokens.labelValues(pool, backend, "prompt");
      completionTokens = tokens.labelValues(pool, backend, "completion");
    }

    CounterDataPoint requests(int statusClass) {
      CounterDataPoint child = byClass.get(statusClass);
      if (child == null) {
        child = backendRequests.labelValues(pool, backend, CLASSES[statusClass]);
        byClass.set(statusClass, child);
      }
      return child;
    }
  }
}
