package dev.sluice.admin;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Pool;
import dev.sluice.limit.Cooldown;
import dev.sluice.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The cooldown endpoints:
 *
 * <ul>
 *   <li>{@code GET /api/admin/cooldowns[?pool=NAME]}: {@code {"cooldowns":[…]}}, per backend whether it is
 *       {@code cooling}, {@code remaining_seconds}, {@code consecutive_failures}, {@code ends_at} (ISO-8601 UTC, or
 *       null) and its recent {@code events} (start, end, count, seconds, summary; the last
 *       {@value Cooldown#EVENTS_KEPT}, newest last). The only backend of a pool never cools down: it shows
 *       {@code "applies": false} and why;
 *   <li>{@code DELETE /api/admin/cooldowns/{id}}: ends the backend's cooldown now and forgets its count of failures;
 *       answers the same entry with {@code "ended"} saying whether it was cooling. Waiting requests may go to it at
 *       once. One {@code sluice.audit} line.
 * </ul>
 *
 * Thread-safe: reads and changes go through the backends and their cooldowns, which are.
 */
public final class CooldownEndpoints {
  private final BackendDirectory backends;
  private final Clock clock;
  private final AuditLog audit = new AuditLog();

  /** @param pools every pool, whose backends' cooldowns these endpoints read and end */
  public CooldownEndpoints(List<Pool> pools, Clock clock) {
    this.backends = new BackendDirectory(pools);
    this.clock = clock;
  }

  public List<AdminRoute> routes() {
    return List.of(
        AdminRoute.get("/api/admin/cooldowns", request -> AdminResponse.ok(Map.of("cooldowns",
            backends.filtered(request).stream().map(this::entry).toList()))),
        AdminRoute.delete("/api/admin/cooldowns/{id}", this::end));
  }

  private AdminResponse end(AdminRequest request) {
    Backend backend = backends.byId(request);
    Optional<String> before = backend.cooldown().map(c -> describe(c.snapshot(clock.nanoTime())));
    boolean ended = backend.endCooldown();
    Map<String, Object> m = entry(backend);
    m.put("ended", ended);
    audit.changed(new ConfigJson.Change(BackendDirectory.key(backend) + ".cooldown",
        before.orElse("never cools down"), ended ? "ended" : before.orElse("never cools down")),
        request.remoteAddress());
    return AdminResponse.ok(m);
  }

  private static String describe(Cooldown.Snapshot s) {
    return s.cooling() ? String.format(Locale.ROOT, "cooling, %.1f s left", s.remainingNanos() / 1e9) : "not cooling";
  }

  private Map<String, Object> entry(Backend backend) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", backend.id());
    m.put("pool", backend.pool());
    m.put("applies", backend.cooldown().isPresent());
    if (backend.cooldown().isEmpty()) {
      m.put("reason", "the only backend of its pool never cools down: there is nowhere else to send its traffic");
      return m;
    }
    Cooldown cooldown = backend.cooldown().get();
    long wallMillis = clock.wallTimeMillis();
    Cooldown.Snapshot s = cooldown.snapshot(clock.nanoTime());
    m.put("cooling", s.cooling());
    m.put("remaining_seconds", Math.round(s.remainingNanos() / 1e6) / 1e3);
    m.put("consecutive_failures", s.consecutive());
    m.put("ends_at", s.cooling() ? BackendDirectory.iso(wallMillis + s.remainingNanos() / 1_000_000) : null);
    m.put("cooldowns_started", s.started());
    m.put("events", cooldown.events().stream().map(e -> {
      Map<String, Object> event = new LinkedHashMap<>();
      event.put("start", BackendDirectory.iso(e.startMillis()));
      event.put("end", BackendDirectory.iso(e.endMillis()));
      event.put("count", e.count());
      event.put("seconds", Math.round(e.seconds() * 1e3) / 1e3);
      event.put("summary", e.summary());
      return event;
    }).toList());
    return m;
  }
}
