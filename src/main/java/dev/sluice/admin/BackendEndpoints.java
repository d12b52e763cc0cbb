package dev.sluice.admin;

import dev.sluice.backend.Backend;
import dev.sluice.backend.OutOfService;
import dev.sluice.backend.Pool;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.PoolConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The backend endpoints:
 *
 * <ul>
 *   <li>{@code GET /api/admin/backends[?pool=NAME]} ({@code {"backends":[…]}}) and
 *       {@code GET /api/admin/backends/{id}}: each backend's settings under its configuration file's keys (the key
 *       masked as its first four characters and {@code ****}), plus {@code pool}, {@code enabled}, {@code state}
 *       ({@code active}, {@code cooling}, {@code quota_exceeded}, {@code dead}, {@code disabled}) and
 *       {@code out_of_service} (why and since when, or null);
 *   <li>{@code PATCH /api/admin/backends/{id}} {@code {"enabled": bool}}: {@code true} puts a dead or disabled
 *       backend back in service at once; {@code false} takes it out of service (requests in flight finish). Any
 *       other field is refused, naming it and where it is changed instead. One {@code sluice.audit} line.
 *   <li>{@code POST /api/admin/backends} and {@code DELETE /api/admin/backends/{id}}: 405, saying that adding and
 *       removing backends comes with persistent storage; until then backends are declared in the configuration.
 * </ul>
 *
 * Thread-safe: reads the live configuration and the backends, which are.
 */
public final class BackendEndpoints {
  private static final String BACKENDS = "/api/admin/backends";
  /** Why backends cannot be added or removed here yet. */
  static final String NOT_YET = "Adding and removing backends through the admin API comes with persistent storage,"
      + " which this Sluice does not have yet: declare them in the configuration file and restart Sluice.";
  /** Fields of the configuration and of the answer that PATCH does not change, and where they are changed. */
  private static final Map<String, String> CHANGED_ELSEWHERE = Map.of(
      "rate_rpm", "through POST /api/admin/config (pools[].backends[].rate_rpm)",
      "capacity", "through POST /api/admin/config (pools[].backends[].capacity)",
      "concurrency", "through PATCH /api/admin/adaptive/keys/{id}/mode and /limit");
  private static final Set<String> FIXED = Set.of("id", "pool", "base_url", "api_key", "api_key_env",
      "api_key_file", "tpm", "cooldown", "quota", "state", "out_of_service");

  private final BackendDirectory backends;
  private final LiveConfig config;
  private final AuditLog audit = new AuditLog();

  /** @param pools every pool, whose backends these endpoints show and enable or disable */
  public BackendEndpoints(List<Pool> pools, LiveConfig config) {
    this.backends = new BackendDirectory(pools);
    this.config = config;
  }

  public List<AdminRoute> routes() {
    return List.of(
        AdminRoute.get(BACKENDS, request -> AdminResponse.ok(Map.of("backends",
            backends.filtered(request).stream().map(this::view).toList()))),
        AdminRoute.get(BACKENDS + "/{id}", request -> AdminResponse.ok(view(backends.byId(request)))),
        AdminRoute.patch(BACKENDS + "/{id}", this::patch),
        AdminRoute.notAllowed("POST", BACKENDS, NOT_YET),
        AdminRoute.notAllowed("DELETE", BACKENDS + "/{id}", NOT_YET));
  }

  private AdminResponse patch(AdminRequest request) {
    Backend backend = backends.byId(request);
    BodyFields body = BodyFields.of(request);
    List<String> others = body.names().stream().filter(name -> !name.equals("enabled")).toList();
    if (!others.isEmpty()) {
      throw new AdminException(400, "invalid_value", others.stream().map(BackendEndpoints::whyNot)
          .collect(Collectors.joining("; ")) + ". PATCH takes only {\"enabled\": true|false}.", others.getFirst());
    }
    boolean enabled = body.bool("enabled").orElseThrow(() -> BodyFields.invalid("enabled",
        "is required: true puts the backend in service, false takes it out"));
    String before = backend.snapshot().state();
    if (enabled) {
      backend.revive("enabled by an operator");
    } else {
      backend.disable();
    }
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".enabled", before,
        backend.snapshot().state()), request.remoteAddress());
    return AdminResponse.ok(view(backend));
  }

  private static String whyNot(String field) {
    if (CHANGED_ELSEWHERE.containsKey(field)) {
      return field + ": is changed " + CHANGED_ELSEWHERE.get(field);
    }
    if (FIXED.contains(field)) {
      return field + ": is not changed through the admin API; change it in the configuration and restart Sluice";
    }
    return field + ": unknown key";
  }

  private Map<String, Object> view(Backend backend) {
    BackendConfig configured = config.current().pools().stream().map(PoolConfig::backends)
        .flatMap(List::stream).filter(b -> b.id().equals(backend.id())).findFirst().orElseThrow();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pool", backend.pool());
    m.putAll(ConfigJson.backend(configured));
    var snapshot = backend.snapshot();
    Optional<OutOfService> out = snapshot.outOfService();
    m.put("enabled", out.map(o -> !o.disabled()).orElse(true));
    m.put("state", snapshot.state());
    m.put("out_of_service", out.map(o -> {
      Map<String, Object> why = new LinkedHashMap<>();
      why.put("reason", o.describe());
      why.put("since", BackendDirectory.iso(o.sinceMillis()));
      return why;
    }).orElse(null));
    return m;
  }
}
