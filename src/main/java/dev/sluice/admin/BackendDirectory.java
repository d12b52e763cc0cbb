package dev.sluice.admin;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Pool;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Every pool's backends, found by id or by pool for the admin endpoints; an unknown one is a 404 naming the known
 * ones. Thread-safe: immutable (the backends themselves are thread-safe).
 */
final class BackendDirectory {
  private final List<Pool> pools;

  BackendDirectory(List<Pool> pools) {
    this.pools = List.copyOf(pools);
  }

  List<Pool> pools() {
    return pools;
  }

  /** Every backend, pool by pool in configured order. */
  List<Backend> all() {
    return pools.stream().flatMap(p -> p.backends().stream()).toList();
  }

  /**
   * The backends of the pool the request's {@code ?pool=} names, or every backend without one.
   *
   * @throws AdminException 404 {@code not_found} with {@code param} {@code pool} for an unknown pool
   */
  List<Backend> filtered(AdminRequest request) {
    Optional<String> name = request.queryParam("pool");
    if (name.isEmpty()) {
      return all();
    }
    return pools.stream().filter(p -> p.name().equals(name.get())).findFirst().map(Pool::backends)
        .orElseThrow(() -> new AdminException(404, "not_found", "No pool named " + name.get() + " (pools: "
            + pools.stream().map(Pool::name).collect(Collectors.joining(", ")) + ").", "pool"));
  }

  /**
   * The backend the request's {@code {id}} names.
   *
   * @throws AdminException 404 {@code not_found} for an unknown id
   */
  Backend byId(AdminRequest request) {
    String id = request.pathParams().get("id");
    return all().stream().filter(b -> b.id().equals(id)).findFirst()
        .orElseThrow(() -> new AdminException(404, "not_found", "No backend with id " + id + " (backends: "
            + all().stream().map(Backend::id).collect(Collectors.joining(", ")) + ")."));
  }

  /** Where a backend's settings are in the configuration, for audit lines: {@code pools.nvidia.backends.nv-1}. */
  static String key(Backend backend) {
    return "pools." + backend.pool() + ".backends." + backend.id();
  }

  /** A wall time (ms since the epoch) as ISO-8601 UTC, e.g. {@code 2026-11-23T12:00:00.123Z}; null for 0. */
  static String iso(long wallMillis) {
    return wallMillis == 0 ? null : Instant.ofEpochMilli(wallMillis).toString();
  }
}
