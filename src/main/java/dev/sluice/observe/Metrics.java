package dev.sluice.observe;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.OutcomeListener;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import dev.sluice.time.Clock;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;

/**
 * Sluice's Prometheus metrics: one registry of its own (never the client's global default) holding the series fed
 * by finished requests ({@link #outcomes()}) and those read from the pools at scrape time, served by
 * {@link #handler(Connector)}. Created only when metrics are enabled; with them off nothing of this exists, so a
 * request pays nothing for them. The series and their meaning are listed in README.md, "Metrics".
 *
 * <p>Thread-safe.
 */
public final class Metrics {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final RequestMetrics requests;
  private final ExpositionFormats formats = ExpositionFormats.init();

  /** @param pools every pool, in configured order; their pools and backends are read once now, and at each scrape */
  public Metrics(Clock clock, List<? extends PoolView> pools) {
    Map<String, List<String>> backendsByPool = new LinkedHashMap<>();
    for (PoolView pool : pools) {
      PoolSnapshot snapshot = pool.snapshot();
      backendsByPool.put(snapshot.pool(), snapshot.backends().stream().map(BackendSnapshot::id).toList());
    }
    requests = new RequestMetrics(registry, backendsByPool);
    registry.register(new PoolMetrics(pools, clock));
  }

  /** Learns from every finished request; non-blocking, as outcome listeners must be. */
  public OutcomeListener outcomes() {
    return requests;
  }

  /** Serves {@code /metrics} to requests arriving on {@code connector}, and only to those. */
  public Handler handler(Connector connector) {
    return new MetricsHandler(registry, formats, connector);
  }
}
