package dev.sluice.store;

import dev.sluice.backend.OutOfService;
import dev.sluice.backend.SavedState;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

/** The SQL of table {@code backend_state}: one row per backend id. Stateless; thread-safe (the handle is not). */
final class BackendStateRepository {
  private static final String UPSERT = """
      INSERT INTO backend_state (backend_id, out_of_service_disabled, out_of_service_since_millis,
          out_of_service_status, cooldown_consecutive, cooldown_end_millis, adaptive_concurrency, concurrency_limit,
          retreat_state, retreat_rate_rpm, quota_exceeded, quota_cap_error_since_millis, quota_cap_error_message,
          quota_last_probe_millis, quota_probe_interval_millis)
      VALUES (:backendId, :outOfServiceDisabled, :outOfServiceSinceMillis, :outOfServiceStatus, :cooldownConsecutive,
          :cooldownEndMillis, :adaptiveConcurrency, :concurrencyLimit, :retreatState, :retreatRateRpm, :quotaExceeded,
          :quotaCapErrorSinceMillis, :quotaCapErrorMessage, :quotaLastProbeMillis, :quotaProbeIntervalMillis)
      ON CONFLICT (backend_id) DO UPDATE SET
          out_of_service_disabled = excluded.out_of_service_disabled,
          out_of_service_since_millis = excluded.out_of_service_since_millis,
          out_of_service_status = excluded.out_of_service_status,
          cooldown_consecutive = excluded.cooldown_consecutive,
          cooldown_end_millis = excluded.cooldown_end_millis,
          adaptive_concurrency = excluded.adaptive_concurrency,
          concurrency_limit = excluded.concurrency_limit,
          retreat_state = excluded.retreat_state,
          retreat_rate_rpm = excluded.retreat_rate_rpm,
          quota_exceeded = excluded.quota_exceeded,
          quota_cap_error_since_millis = excluded.quota_cap_error_since_millis,
          quota_cap_error_message = excluded.quota_cap_error_message,
          quota_last_probe_millis = excluded.quota_last_probe_millis,
          quota_probe_interval_millis = excluded.quota_probe_interval_millis
      """;

  private static final String SELECT_ALL = """
      SELECT backend_id, out_of_service_disabled, out_of_service_since_millis, out_of_service_status,
          cooldown_consecutive, cooldown_end_millis, adaptive_concurrency, concurrency_limit, retreat_state,
          retreat_rate_rpm, quota_exceeded, quota_cap_error_since_millis, quota_cap_error_message,
          quota_last_probe_millis, quota_probe_interval_millis
      FROM backend_state
      ORDER BY backend_id
      """;

  /** Every saved state, by backend id in id order. */
  Map<String, SavedState> all(Handle handle) {
    Map<String, SavedState> states = new LinkedHashMap<>();
    handle.createQuery(SELECT_ALL)
        .map((row, context) -> read(row))
        .forEach(state -> states.put(state.backendId(), state));
    return Collections.unmodifiableMap(states);
  }

  /** Inserts each state, or replaces the one saved under its backend id, in one batch. */
  void upsert(Handle handle, Collection<SavedState> states) {
    if (states.isEmpty()) {
      return;
    }
    PreparedBatch batch = handle.prepareBatch(UPSERT);
    for (SavedState state : states) {
      Optional<OutOfService> outOfService = state.outOfService();
      batch.bind("backendId", state.backendId())
          .bind("outOfServiceDisabled", outOfService.map(OutOfService::disabled).orElse(null))
          .bind("outOfServiceSinceMillis", outOfService.map(OutOfService::sinceMillis).orElse(null))
          .bind("outOfServiceStatus", outOfService.map(OutOfService::status).orElse(null))
          .bind("cooldownConsecutive", state.cooldownConsecutive())
          .bind("cooldownEndMillis", state.cooldownEndMillis())
          .bind("adaptiveConcurrency", state.adaptiveConcurrency())
          .bind("concurrencyLimit", state.concurrencyLimit())
          .bind("retreatState", state.retreatState())
          .bind("retreatRateRpm", state.retreatRateRpm())
          .bind("quotaExceeded", state.quotaExceeded())
          .bind("quotaCapErrorSinceMillis", state.quotaCapErrorSinceMillis())
          .bind("quotaCapErrorMessage", state.quotaCapErrorMessage())
          .bind("quotaLastProbeMillis", state.quotaLastProbeMillis())
          .bind("quotaProbeIntervalMillis", state.quotaProbeIntervalMillis())
          .add();
    }
    batch.execute();
  }

  private static SavedState read(ResultSet row) throws SQLException {
    Optional<OutOfService> outOfService = row.getObject("out_of_service_disabled") == null
        ? Optional.empty()
        : Optional.of(new OutOfService(row.getBoolean("out_of_service_disabled"),
            row.getLong("out_of_service_since_millis"), row.getInt("out_of_service_status")));
    return new SavedState(row.getString("backend_id"), outOfService, row.getInt("cooldown_consecutive"),
        row.getLong("cooldown_end_millis"), row.getBoolean("adaptive_concurrency"), row.getInt("concurrency_limit"),
        row.getString("retreat_state"), row.getInt("retreat_rate_rpm"), row.getBoolean("quota_exceeded"),
        row.getLong("quota_cap_error_since_millis"), row.getString("quota_cap_error_message"),
        row.getLong("quota_last_probe_millis"), row.getLong("quota_probe_interval_millis"));
  }
}
