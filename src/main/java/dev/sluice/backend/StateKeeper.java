package dev.sluice.backend;

import dev.sluice.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the backends' state in a {@link StateStore}: restores it at start-up, before any traffic, and writes what
 * changed once a second, in one batch, on a virtual thread of its own (never on the proxy's threads). A batch that
 * fails is kept and written with the next one, so a store that hiccups loses nothing; a process killed outright
 * loses at most the last second.
 *
 * <p>Thread-safe: {@link #flush} is serialized; the backends are read through their own locks.
 */
public final class StateKeeper implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StateKeeper.class);
  private static final long MILLIS_PER_MINUTE = 60_000L;
  private static final long FLUSH_MILLIS = 1_000;

  private final StateStore store;
  private final List<Backend> backends;
  private final Clock clock;
  /** What the store holds, by backend id, as far as this process knows. */
  private final Map<String, SavedState> written = new HashMap<>();
  /** Usage not yet written (a failed batch), by backend id, then minute. */
  private final Map<String, Map<Long, Long>> pendingUsage = new HashMap<>();
  private final long windowMinutes;
  private ScheduledExecutorService timer;
  private boolean failing;
  private long batches;
  private long failedBatches;
  private long lastWriteMillis;

  public StateKeeper(StateStore store, List<Backend> backends, Clock clock) {
    this.store = store;
    this.backends = List.copyOf(backends);
    this.clock = clock;
    this.windowMinutes = backends.stream().mapToLong(b -> b.quota().window().toMinutes()).max().orElse(60);
  }

  /**
   * Takes up what the store holds into the backends; call once, before traffic. Returns how many were restored. A
   * backend whose saved state cannot be taken up starts afresh (logged); a store that cannot be read is closed, and
   * its failure thrown.
   */
  public int restore() {
    long minute = Math.floorDiv(clock.wallTimeMillis(), MILLIS_PER_MINUTE);
    Map<String, SavedState> states;
    Map<String, List<UsageMinute>> usage;
    try {
      states = store.states();
      usage = store.usageSince(minute - windowMinutes + 1);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    int restored = 0;
    for (Backend backend : backends) {
      SavedState saved = states.get(backend.id());
      List<UsageMinute> minutes = usage.getOrDefault(backend.id(), List.of());
      if (saved == null && minutes.isEmpty()) {
        continue;
      }
      try {
        backend.restore(saved != null ? saved : backend.saved(), minutes);
        restored++;
      } catch (RuntimeException e) {
        LOG.warn("backend {} starts afresh: its saved state cannot be taken up ({})", backend.id(), e.toString());
      }
      written.put(backend.id(), backend.saved());
    }
    return restored;
  }

  /** Writes every second from now on. */
  public synchronized void start() {
    if (timer != null) {
      return;
    }
    timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("sluice-state-").factory());
    timer.scheduleWithFixedDelay(this::flushQuietly, FLUSH_MILLIS, FLUSH_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Writes what changed since the last write, in one batch; returns how many backends' states it wrote. */
  public synchronized int flush() {
    List<SavedState> changed = new ArrayList<>();
    for (Backend backend : backends) {
      SavedState state = backend.saved();
      if (!state.equals(written.get(backend.id()))) {
        changed.add(state);
      }
      for (UsageMinute m : backend.changedUsage()) {
        pendingUsage.computeIfAbsent(backend.id(), id -> new LinkedHashMap<>()).put(m.minute(), m.tokens());
      }
    }
    if (changed.isEmpty() && pendingUsage.isEmpty()) {
      return 0;
    }
    Map<String, List<UsageMinute>> usage = new HashMap<>();
    pendingUsage.forEach((id, minutes) -> usage.put(id,
        minutes.entrySet().stream().map(e -> new UsageMinute(e.getKey(), e.getValue())).toList()));
    long pruneBefore = Math.floorDiv(clock.wallTimeMillis(), MILLIS_PER_MINUTE) - windowMinutes + 1;
    try {
      store.write(changed, usage, pruneBefore);
    } catch (RuntimeException e) {
      failedBatches++;
      throw e;
    }
    batches++;
    lastWriteMillis = clock.wallTimeMillis();
    pendingUsage.clear();
    changed.forEach(state -> written.put(state.backendId(), state));
    return changed.size();
  }

  /** The keeper's writes so far, to the store at {@code path}. */
  public synchronized StoreWrites writes(String path) {
    return new StoreWrites(path, batches, failedBatches, lastWriteMillis);
  }

  private void flushQuietly() {
    try {
      flush();
      if (failing) {
        failing = false;
        LOG.info("state store writable again; what waited is written");
      }
    } catch (RuntimeException e) {
      if (!failing) {
        failing = true;
        LOG.warn("cannot write the state store: {}; keeping the changes and trying again every second",
            e.getMessage());
      }
    }
  }

  /** Stops the timer, writes what is left and closes the store. */
  @Override
  public void close() {
    ScheduledExecutorService t;
    synchronized (this) {
      t = timer;
      timer = null;
    }
    if (t != null) {
      t.shutdown();
      try {
        t.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    try {
      flush();
    } catch (RuntimeException e) {
      LOG.warn("cannot write the state store at shutdown: {}", e.getMessage());
    } finally {
      store.close();
    }
  }
}
