package dev.sluice.sim;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A {@link Sleeper} on a {@link ManualClock}: a sleeping thread wakes only when the test moves the clock to its due
 * instant with {@link #advance}, so a test decides exactly when each chunk of an answer may be written. Move time
 * through {@link #advance}, not through the clock, while threads sleep. Thread-safe: guarded by {@code this}.
 */
public final class ManualSleeper implements Sleeper {
  private static final Duration AWAIT_LIMIT = Duration.ofSeconds(30);

  private final ManualClock clock;
  /** One per sleeping thread; compared by identity. */
  private final List<Sleep> sleeps = new ArrayList<>();

  private static final class Sleep {
    final long dueNanos;

    Sleep(long dueNanos) {
      this.dueNanos = dueNanos;
    }
  }

  public ManualSleeper(ManualClock clock) {
    this.clock = clock;
  }

  @Override
  public synchronized void sleepMillis(long millis) throws InterruptedException {
    Sleep sleep = new Sleep(clock.nanoTime() + Duration.ofMillis(millis).toNanos());
    sleeps.add(sleep);
    notifyAll();
    try {
      while (sleeps.contains(sleep)) {
        wait();
      }
    } finally {
      if (sleeps.remove(sleep)) {
        notifyAll(); // interrupted before its time
      }
    }
  }

  /** Moves the clock forward by {@code duration} and wakes the threads whose sleep is then over. */
  public synchronized void advance(Duration duration) {
    clock.advance(duration);
    if (sleeps.removeIf(sleep -> sleep.dueNanos <= clock.nanoTime())) {
      notifyAll();
    }
  }

  /** What is left of each sleep in progress, shortest first. */
  public synchronized List<Duration> sleeping() {
    return sleeps.stream().map(sleep -> Duration.ofNanos(sleep.dueNanos - clock.nanoTime()))
        .sorted(Comparator.naturalOrder()).toList();
  }

  /**
   * Waits, at most 30 s of real time, until exactly {@code count} threads sleep, and returns what is left of each
   * sleep, shortest first.
   *
   * @throws AssertionError if they do not within 30 s
   */
  public synchronized List<Duration> awaitSleeping(int count) throws InterruptedException {
    long deadline = System.nanoTime() + AWAIT_LIMIT.toNanos();
    while (sleeps.size() != count) {
      long leftNanos = deadline - System.nanoTime();
      if (leftNanos <= 0) {
        throw new AssertionError("expected " + count + " sleeping threads within " + AWAIT_LIMIT + ", but "
            + sleeping());
      }
      wait(Math.max(1, leftNanos / 1_000_000));
    }
    return sleeping();
  }
}
