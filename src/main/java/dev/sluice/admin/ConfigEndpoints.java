package dev.sluice.admin;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The configuration endpoints: {@code GET /api/admin/config} (the hot-reloadable settings, see
 * {@link ConfigJson}), {@code POST /api/admin/config} (change them, see {@link LiveConfig}; answers
 * {@code {"changed":[{"key","old","new"}...],"config":{...}}}) and {@code GET /api/admin/pools} (each pool's
 * settings, queue depth per priority and its backends' state, keys masked). Thread-safe: reads the live
 * configuration and the pools' snapshots at each request.
 */
public final class ConfigEndpoints {
  private final LiveConfig config;
  private final List<PoolView> pools;

  /** @param pools every pool's queue and backends, read at each request */
  public ConfigEndpoints(LiveConfig config, List<? extends PoolView> pools) {
    this.config = config;
    this.pools = List.copyOf(pools);
  }

  public List<AdminRoute> routes() {
    return List.of(
        AdminRoute.get("/api/admin/config", request -> AdminResponse.ok(ConfigJson.view(config.current()))),
        AdminRoute.post("/api/admin/config", request -> {
          LiveConfig.Outcome outcome = config.change(request.json(), request.remoteAddress());
          Map<String, Object> body = new LinkedHashMap<>();
          body.put("changed", outcome.changes().stream().map(ConfigJson.Change::json).toList());
          body.put("config", ConfigJson.view(outcome.config()));
          return AdminResponse.ok(body);
        }),
        AdminRoute.get("/api/admin/pools", request -> AdminResponse.ok(Map.of("pools", pools())))
    );
  }

  private List<Map<String, Object>> pools() {
    SluiceConfig current = config.current();
    return pools.stream().map(PoolView::snapshot).map(snapshot -> {
      PoolConfig pool = current.pools().stream().filter(p -> p.name().equals(snapshot.pool())).findFirst()
          .orElseThrow();
      return pool(pool, snapshot);
    }).toList();
  }

  private static Map<String, Object> pool(PoolConfig pool, PoolSnapshot snapshot) {
    Map<String, Object> depth = new LinkedHashMap<>();
    snapshot.depth().forEach((priority, n) -> depth.put(priority.label(), n));
    Map<String, Object> queue = new LinkedHashMap<>();
    queue.put("size", snapshot.size());
    queue.put("depth", depth);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", pool.name());
    m.put("aliases", pool.aliases());
    m.put("queue_max_size", snapshot.queueMaxSize());
    m.put("full_policy", ConfigJson.policy(snapshot.fullPolicy()));
    m.put("max_attempts", pool.failover().maxAttempts());
    m.put("queue", queue);
    m.put("backends", pool.backends().stream().map(b -> backend(b, snapshot.backends().stream()
        .filter(s -> s.id().equals(b.id())).findFirst())).toList());
    return m;
  }

  private static Map<String, Object> backend(BackendConfig backend, Optional<BackendSnapshot> state) {
    Map<String, Object> m = ConfigJson.backend(backend);
    state.ifPresent(s -> {
      m.put("effective_rpm", s.rateRpm());
      m.put("tokens", s.tokens());
      m.put("retreat_state", s.retreat().state().name());
      m.put("in_flight", s.inFlight());
      m.put("retry_after_remaining_ms", s.retryAfterRemainingNanos() / 1_000_000);
    });
    return m;
  }
}
