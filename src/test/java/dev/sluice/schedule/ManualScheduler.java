package dev.sluice.schedule;

import dev.sluice.time.ManualClock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A scheduler whose tasks run only when a test calls {@link #runDue()}, at the instants of a {@link ManualClock}.
 * Counts every task scheduled, so a test can prove how often the dispatcher wakes. Not thread-safe: one test
 * thread drives it.
 */
final class ManualScheduler implements Scheduler {
  private final ManualClock clock;
  private final List<Scheduled> tasks = new ArrayList<>();
  private int scheduledCount;

  ManualScheduler(ManualClock clock) {
    this.clock = clock;
  }

  private static final class Scheduled implements Task {
    final long dueNanos;
    final Runnable runnable;
    boolean cancelled;

    Scheduled(long dueNanos, Runnable runnable) {
      this.dueNanos = dueNanos;
      this.runnable = runnable;
    }

    @Override
    public void cancel() {
      cancelled = true;
    }
  }

  @Override
  public Task schedule(Runnable task, long delayNanos) {
    Scheduled scheduled = new Scheduled(clock.nanoTime() + Math.max(0, delayNanos), task);
    tasks.add(scheduled);
    scheduledCount++;
    return scheduled;
  }

  /** Runs, in due order, every task due by now (including ones those tasks schedule for now or earlier). */
  void runDue() {
    while (true) {
      tasks.removeIf(t -> t.cancelled);
      Optional<Scheduled> next = tasks.stream().filter(t -> t.dueNanos <= clock.nanoTime())
          .min(Comparator.comparingLong(t -> t.dueNanos));
      if (next.isEmpty()) {
        return;
      }
      tasks.remove(next.get());
      next.get().runnable.run();
    }
  }

  /** Tasks scheduled and neither run nor cancelled. */
  int pending() {
    tasks.removeIf(t -> t.cancelled);
    return tasks.size();
  }

  /** The due instant of the earliest pending task. */
  long nextDueNanos() {
    tasks.removeIf(t -> t.cancelled);
    return tasks.stream().mapToLong(t -> t.dueNanos).min().orElseThrow();
  }

  /** Tasks scheduled since the start, cancelled ones included. */
  int scheduledCount() {
    return scheduledCount;
  }
}
