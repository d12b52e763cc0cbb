package dev.sluice.store;

import dev.sluice.backend.UsageMinute;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.PreparedBatch;

/**
 * The SQL of table {@code token_usage}: tokens per backend per wall-clock minute, each row the minute's total so far.
 * Stateless; thread-safe (the handle is not).
 */
final class TokenUsageRepository {
  private static final String UPSERT = """
      INSERT INTO token_usage (backend_id, minute, tokens) VALUES (:backendId, :minute, :tokens)
      ON CONFLICT (backend_id, minute) DO UPDATE SET tokens = excluded.tokens
      """;
  private static final String DELETE_BEFORE = "DELETE FROM token_usage WHERE minute < :minute";
  private static final String SELECT_SINCE = """
      SELECT backend_id, minute, tokens FROM token_usage WHERE minute >= :minute ORDER BY backend_id, minute
      """;

  /** Usage of the minutes from {@code fromMinute} on, by backend id in id order, each list oldest first. */
  Map<String, List<UsageMinute>> since(Handle handle, long fromMinute) {
    Map<String, List<UsageMinute>> usage = new LinkedHashMap<>();
    handle.createQuery(SELECT_SINCE)
        .bind("minute", fromMinute)
        .map((row, context) -> Map.entry(row.getString("backend_id"),
            new UsageMinute(row.getLong("minute"), row.getLong("tokens"))))
        .forEach(entry -> usage.computeIfAbsent(entry.getKey(), id -> new ArrayList<>()).add(entry.getValue()));
    usage.replaceAll((id, minutes) -> List.copyOf(minutes));
    return Collections.unmodifiableMap(usage);
  }

  /** Sets each minute's count, replacing what was saved for that backend and minute, in one batch. */
  void upsert(Handle handle, Map<String, List<UsageMinute>> usage) {
    if (usage.values().stream().allMatch(List::isEmpty)) {
      return;
    }
    PreparedBatch batch = handle.prepareBatch(UPSERT);
    usage.forEach((backendId, minutes) -> minutes.forEach(minute -> batch.bind("backendId", backendId)
        .bind("minute", minute.minute())
        .bind("tokens", minute.tokens())
        .add()));
    batch.execute();
  }

  /** Deletes the usage of every minute before {@code minute}; returns how many rows went. */
  int deleteBefore(Handle handle, long minute) {
    return handle.createUpdate(DELETE_BEFORE).bind("minute", minute).execute();
  }
}
