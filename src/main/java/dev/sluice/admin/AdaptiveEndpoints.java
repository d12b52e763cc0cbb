package dev.sluice.admin;

import dev.sluice.backend.Backend;
import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Pool;
import dev.sluice.backend.RefusalKind;
import dev.sluice.limit.ConcurrencyLimit;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The concurrency endpoints under {@code /api/admin/adaptive/}, one "key" per backend (named by its configured id,
 * never by its API key):
 *
 * <ul>
 *   <li>{@code GET keys[?pool=NAME]}: {@code {"keys":[key…]}}, each with its pool, mode ({@code fixed} or
 *       {@code adaptive}), limit in force, requests in flight, the upstream's 429s per kind, and the time (ISO-8601
 *       UTC) and kind of the last one;
 *   <li>{@code GET keys/{id}/stats}: the key, its state, its accepted answers and the history of its limit
 *       ({@code at}, {@code from}, {@code to}, {@code reason}; the last {@value ConcurrencyLimit#HISTORY_KEPT});
 *   <li>{@code PATCH keys/{id}/mode} {@code {"enabled": bool, "fixed_limit": 1..100}}: learn the limit
 *       ({@code enabled: true}, starting from {@code fixed_limit}, else from the limit in force) or keep
 *       {@code fixed_limit} fixed (required then);
 *   <li>{@code PATCH keys/{id}/limit?limit=N}: the limit in force now, 1..100 (in adaptive mode learning continues
 *       from it);
 *   <li>{@code DELETE keys/{id}/learning}: forgets what was learned: back to the starting point, history cleared;
 *   <li>{@code GET summary}: per pool and overall, backends, those in service, those adaptive, the sum of their
 *       limits, requests in flight and 429s per kind.
 * </ul>
 *
 * A change answers the key as {@code stats} shows it, takes effect at once (a raised limit lets waiting requests
 * go) and writes one {@code sluice.audit} line. Changes live in memory; the configuration keeps its
 * {@code concurrency} section. Thread-safe: reads and changes go through the backends, which are.
 */
public final class AdaptiveEndpoints {
  private static final String KEYS = "/api/admin/adaptive/keys";
  private static final Set<String> MODE_FIELDS = Set.of("enabled", "fixed_limit");

  private final BackendDirectory backends;
  private final AuditLog audit = new AuditLog();

  /** @param pools every pool, whose backends these endpoints read and change */
  public AdaptiveEndpoints(List<Pool> pools) {
    this.backends = new BackendDirectory(pools);
  }

  public List<AdminRoute> routes() {
    return List.of(
        AdminRoute.get(KEYS, request -> AdminResponse.ok(Map.of("keys",
            backends.filtered(request).stream().map(AdaptiveEndpoints::key).toList()))),
        AdminRoute.get(KEYS + "/{id}/stats", request -> AdminResponse.ok(stats(backends.byId(request)))),
        AdminRoute.patch(KEYS + "/{id}/mode", this::mode),
        AdminRoute.patch(KEYS + "/{id}/limit", this::limit),
        AdminRoute.delete(KEYS + "/{id}/learning", this::forget),
        AdminRoute.get("/api/admin/adaptive/summary", request -> AdminResponse.ok(summary())));
  }

  private AdminResponse mode(AdminRequest request) {
    Backend backend = backends.byId(request);
    BodyFields body = BodyFields.of(request);
    for (String name : body.names()) {
      if (!MODE_FIELDS.contains(name)) {
        throw BodyFields.invalid(name, "unknown key; the body takes enabled (true: learn the limit, false: keep"
            + " fixed_limit fixed) and fixed_limit");
      }
    }
    boolean enabled = body.bool("enabled").orElseThrow(() -> BodyFields.invalid("enabled",
        "is required: true learns the limit, false keeps fixed_limit fixed"));
    Optional<Integer> fixedLimit = body.integer("fixed_limit", ConcurrencyLimit.MIN_LIMIT, ConcurrencyLimit.MAX_LIMIT);
    if (!enabled && fixedLimit.isEmpty()) {
      throw BodyFields.invalid("fixed_limit", "is required when enabled is false: the limit to keep, "
          + ConcurrencyLimit.MIN_LIMIT + ".." + ConcurrencyLimit.MAX_LIMIT);
    }
    String before = describe(backend);
    backend.changeConcurrency((limit, wallMillis) ->
        limit.setMode(enabled, fixedLimit.orElse(limit.limit()), wallMillis));
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".concurrency", before, describe(backend)),
        request.remoteAddress());
    return AdminResponse.ok(stats(backend));
  }

  private AdminResponse limit(AdminRequest request) {
    Backend backend = backends.byId(request);
    String range = ConcurrencyLimit.MIN_LIMIT + ".." + ConcurrencyLimit.MAX_LIMIT;
    String text = request.queryParam("limit").orElseThrow(() -> BodyFields.invalid("limit",
        "is required: PATCH " + request.path() + "?limit=N with N in " + range));
    int limit;
    try {
      limit = Integer.parseInt(text.strip());
    } catch (NumberFormatException e) {
      throw BodyFields.invalid("limit", text + " is not an integer in " + range);
    }
    BodyFields.checked("limit", limit, ConcurrencyLimit.MIN_LIMIT, ConcurrencyLimit.MAX_LIMIT);
    String before = describe(backend);
    backend.changeConcurrency((concurrency, wallMillis) -> concurrency.setLimit(limit, wallMillis));
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".concurrency", before, describe(backend)),
        request.remoteAddress());
    return AdminResponse.ok(stats(backend));
  }

  private AdminResponse forget(AdminRequest request) {
    Backend backend = backends.byId(request);
    int kept = backend.concurrency().history().size();
    String before = describe(backend) + ", " + kept + (kept == 1 ? " adjustment" : " adjustments") + " kept";
    backend.changeConcurrency((limit, wallMillis) -> limit.resetLearning());
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".concurrency.learning", before,
        "forgotten: " + describe(backend)), request.remoteAddress());
    return AdminResponse.ok(stats(backend));
  }

  /** E.g. {@code adaptive, limit 6}. */
  private static String describe(Backend backend) {
    ConcurrencyLimit limit = backend.concurrency();
    return (limit.adaptive() ? "adaptive" : "fixed") + ", limit " + limit.limit();
  }

  static Map<String, Object> key(Backend backend) {
    return key(backend, backend.snapshot());
  }

  private static Map<String, Object> key(Backend backend, BackendSnapshot s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", s.id());
    m.put("pool", s.pool());
    m.put("mode", s.adaptiveConcurrency() ? "adaptive" : "fixed");
    m.put("limit", s.concurrencyLimit());
    m.put("in_flight", s.inFlight());
    m.put("upstream_429s", refusals(s.refusals()));
    m.put("last_429_at", BackendDirectory.iso(backend.lastRefusalMillis()));
    m.put("last_429_type", s.lastRefusal().map(RefusalKind::label).orElse(null));
    return m;
  }

  private static Map<String, Object> stats(Backend backend) {
    BackendSnapshot s = backend.snapshot();
    Map<String, Object> m = key(backend, s);
    m.put("state", s.state());
    m.put("successes", backend.acceptedAnswers());
    m.put("history", backend.concurrency().history().stream().map(a -> {
      Map<String, Object> h = new LinkedHashMap<>();
      h.put("at", BackendDirectory.iso(a.atMillis()));
      h.put("from", a.from());
      h.put("to", a.to());
      h.put("reason", a.reason());
      return h;
    }).toList());
    return m;
  }

  /** Every kind, 0 when never seen, in the enum's order. */
  private static Map<String, Long> refusals(Map<RefusalKind, Long> counts) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (RefusalKind kind : RefusalKind.values()) {
      m.put(kind.label(), counts.getOrDefault(kind, 0L));
    }
    return m;
  }

  private Map<String, Object> summary() {
    Totals overall = new Totals();
    List<Map<String, Object>> pools = backends.pools().stream().map(pool -> {
      Totals totals = new Totals();
      pool.backends().forEach(b -> totals.add(b.snapshot()));
      overall.addAll(totals);
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("pool", pool.name());
      m.putAll(totals.json());
      return m;
    }).toList();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pools", pools);
    m.put("overall", overall.json());
    return m;
  }

  /** Sums over backends. Not thread-safe; one per answer. */
  private static final class Totals {
    int backends;
    int inService;
    int adaptive;
    long limitSum;
    long inFlight;
    final Map<RefusalKind, Long> refusals = new EnumMap<>(RefusalKind.class);

    void add(BackendSnapshot s) {
      backends++;
      inService += s.outOfService().isEmpty() ? 1 : 0;
      adaptive += s.adaptiveConcurrency() ? 1 : 0;
      limitSum += s.concurrencyLimit();
      inFlight += s.inFlight();
      s.refusals().forEach((kind, n) -> refusals.merge(kind, n, Long::sum));
    }

    void addAll(Totals other) {
      backends += other.backends;
      inService += other.inService;
      adaptive += other.adaptive;
      limitSum += other.limitSum;
      inFlight += other.inFlight;
      other.refusals.forEach((kind, n) -> refusals.merge(kind, n, Long::sum));
    }

    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("backends", backends);
      m.put("in_service", inService);
      m.put("adaptive", adaptive);
      m.put("limit_sum", limitSum);
      m.put("in_flight", inFlight);
      m.put("upstream_429s", refusals(refusals));
      return m;
    }
  }
}
