package dev.sluice.backend;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Where backends' state is kept across restarts: embedded SQLite by default, and the same state could live in a
 * shared store for several replicas. Every method blocks on I/O: call it off the proxy's I/O threads. Thread-safe.
 */
public interface StateStore extends AutoCloseable {
  /** Every backend's saved state, by backend id. */
  Map<String, SavedState> states();

  /** Token usage per backend id, of the minutes from {@code fromMinute} on, oldest first. */
  Map<String, List<UsageMinute>> usageSince(long fromMinute);

  /**
   * Writes one batch in one transaction: each state replaces the backend's saved one, each minute's count
   * replaces that minute's (counts are totals so far, so writing one twice is harmless), and usage of minutes
   * before {@code pruneBeforeMinute} is deleted.
   */
  void write(Collection<SavedState> states, Map<String, List<UsageMinute>> usage, long pruneBeforeMinute);

  /** Finishes writing and releases the file; the store is unusable afterwards. */
  @Override
  void close();
}
