package dev.sluice.backend;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A state store in memory that records every batch written to it, and fails the next writes when a test says so.
 * Not thread-safe: one test thread drives it.
 */
final class RecordingStateStore implements StateStore {
  /** One batch as the keeper wrote it. */
  record Write(List<SavedState> states, Map<String, List<UsageMinute>> usage, long pruneBeforeMinute) {}

  final Map<String, SavedState> states = new HashMap<>();
  /** Per backend id, tokens per minute. */
  final Map<String, TreeMap<Long, Long>> usage = new HashMap<>();
  final List<Write> writes = new ArrayList<>();
  /** The {@code fromMinute} of each {@link #usageSince} call. */
  final List<Long> usageAskedFrom = new ArrayList<>();
  int failuresToCome;
  boolean closed;

  @Override
  public Map<String, SavedState> states() {
    return Map.copyOf(states);
  }

  @Override
  public Map<String, List<UsageMinute>> usageSince(long fromMinute) {
    usageAskedFrom.add(fromMinute);
    Map<String, List<UsageMinute>> result = new HashMap<>();
    usage.forEach((id, minutes) -> result.put(id, minutes.tailMap(fromMinute).entrySet().stream()
        .map(e -> new UsageMinute(e.getKey(), e.getValue())).toList()));
    return result;
  }

  @Override
  public void write(Collection<SavedState> newStates, Map<String, List<UsageMinute>> newUsage,
      long pruneBeforeMinute) {
    if (closed) {
      throw new IllegalStateException("closed");
    }
    if (failuresToCome > 0) {
      failuresToCome--;
      throw new IllegalStateException("disk full");
    }
    writes.add(new Write(List.copyOf(newStates), Map.copyOf(newUsage), pruneBeforeMinute));
    newStates.forEach(s -> states.put(s.backendId(), s));
    newUsage.forEach((id, minutes) -> minutes.forEach(
        m -> usage.computeIfAbsent(id, k -> new TreeMap<>()).put(m.minute(), m.tokens())));
    usage.values().forEach(minutes -> minutes.headMap(pruneBeforeMinute).clear());
  }

  @Override
  public void close() {
    closed = true;
  }
}
