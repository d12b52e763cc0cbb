package dev.sluice.admin;

import dev.sluice.backend.Backend;
import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Pool;
import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.QuotaState;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The quota endpoints, one entry per backend (its token budget over a sliding window, see SPEC §3):
 *
 * <ul>
 *   <li>{@code GET /api/admin/quota[?pool=NAME]}: {@code {"quota":[…]}}, and {@code GET /api/admin/quota/{id}}
 *       one entry: {@code backend}, {@code pool}, {@code state} ({@code WITHIN_QUOTA} or {@code QUOTA_EXCEEDED}),
 *       {@code window_usage_tokens}, {@code budget_tokens} and {@code usage_percent} (both null without a budget:
 *       then only the provider's quota errors trip the guard), {@code threshold_percent}, {@code window_hours},
 *       {@code cap_error} (what the provider's quota error said while one holds the backend, else null),
 *       {@code probe_interval_seconds} (stretched by a quota error's {@code Retry-After}), {@code last_probe_at}
 *       (ISO-8601 UTC: when the current probe interval began, the last probe or the trip; null before either),
 *       {@code next_probe_at} (while exceeded, else null), {@code trips} and {@code probes} since start, and
 *       {@code tpm} / {@code tpm_available} (the tokens-per-minute budget and what is left of it now; null without
 *       one);
 *   <li>{@code POST /api/admin/quota/{id}/reset} (body empty or {@code {}}): the window forgets the usage counted,
 *       a cap error is cleared and the backend is within quota again; waiting requests may go to it at once.
 *       Answers the entry as it is now, plus {@code "reset": true}. One {@code sluice.audit} line.
 * </ul>
 *
 * Thread-safe: reads and the reset go through the backends and their quota guards, which are.
 */
public final class QuotaEndpoints {
  private static final String QUOTA = "/api/admin/quota";

  private final BackendDirectory backends;
  private final AuditLog audit = new AuditLog();

  /** @param pools every pool, whose backends' quota guards these endpoints read and reset */
  public QuotaEndpoints(List<Pool> pools) {
    this.backends = new BackendDirectory(pools);
  }

  public List<AdminRoute> routes() {
    return List.of(
        AdminRoute.get(QUOTA, request -> AdminResponse.ok(Map.of("quota",
            backends.filtered(request).stream().map(QuotaEndpoints::entry).toList()))),
        AdminRoute.get(QUOTA + "/{id}", request -> AdminResponse.ok(entry(backends.byId(request)))),
        AdminRoute.post(QUOTA + "/{id}/reset", this::reset));
  }

  private AdminResponse reset(AdminRequest request) {
    Backend backend = backends.byId(request);
    if (request.body().length > 0) {
      BodyFields body = BodyFields.of(request);
      if (!body.names().isEmpty()) {
        throw BodyFields.invalid(body.names().getFirst(), "unknown key; the reset takes no body, or {}");
      }
    }
    String before = describe(backend.snapshot());
    backend.resetQuota();
    Map<String, Object> m = entry(backend);
    m.put("reset", true);
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".quota", before, "reset"),
        request.remoteAddress());
    return AdminResponse.ok(m);
  }

  /** The guard's state for the audit line: {@code QUOTA_EXCEEDED, 1000 of 1000 tokens in 5 h}. */
  private static String describe(BackendSnapshot snapshot) {
    QuotaSnapshot q = snapshot.quota();
    return q.state() + ", " + q.windowUsageTokens()
        + (q.budgetTokens() > 0 ? " of " + q.budgetTokens() : "") + " tokens in " + q.windowHoursShown() + " h"
        + (q.capError() ? ", cap error" : "");
  }

  static Map<String, Object> entry(Backend backend) {
    BackendSnapshot snapshot = backend.snapshot();
    QuotaSnapshot q = snapshot.quota();
    boolean budget = q.budgetTokens() > 0;
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("backend", backend.id());
    m.put("pool", backend.pool());
    m.put("state", q.state().name());
    m.put("window_usage_tokens", q.windowUsageTokens());
    m.put("budget_tokens", budget ? q.budgetTokens() : null);
    m.put("usage_percent", budget ? Math.round(q.usagePercent() * 100) / 100.0 : null);
    m.put("threshold_percent", q.thresholdPercent());
    m.put("window_hours", q.windowHoursShown());
    m.put("cap_error", q.capError() ? capMessage(q) : null);
    m.put("probe_interval_seconds", q.probeIntervalMillis() / 1000.0);
    m.put("last_probe_at", BackendDirectory.iso(q.lastProbeMillis()));
    m.put("next_probe_at", q.state() == QuotaState.QUOTA_EXCEEDED ? BackendDirectory.iso(q.nextProbeMillis()) : null);
    m.put("trips", q.trips());
    m.put("probes", q.probes());
    m.put("tpm", snapshot.tpm() > 0 ? snapshot.tpm() : null);
    m.put("tpm_available", snapshot.tpm() > 0 ? snapshot.tpmAvailable() : null);
    return m;
  }

  private static String capMessage(QuotaSnapshot q) {
    return q.capErrorMessage().isEmpty() ? "the provider answered with its quota error" : q.capErrorMessage();
  }
}
