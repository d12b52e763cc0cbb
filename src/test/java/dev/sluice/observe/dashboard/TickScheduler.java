package dev.sluice.observe.dashboard;

import dev.sluice.schedule.Scheduler;
import dev.sluice.time.ManualClock;
import java.util.ArrayList;
import java.util.List;

/**
 * A scheduler whose tasks run only when a test calls {@link #runDue()}, at the instants of a {@link ManualClock}.
 * Thread-safe: Jetty threads schedule the first tick when a stream client joins, the test thread runs them.
 */
final class TickScheduler implements Scheduler {
  private final ManualClock clock;
  private final List<Scheduled> tasks = new ArrayList<>();

  TickScheduler(ManualClock clock) {
    this.clock = clock;
  }

  private record Scheduled(long dueNanos, Runnable runnable) implements Task {
    @Override
    public void cancel() {
      throw new UnsupportedOperationException("the dashboard never cancels a tick");
    }
  }

  @Override
  public synchronized Task schedule(Runnable task, long delayNanos) {
    Scheduled scheduled = new Scheduled(clock.nanoTime() + Math.max(0, delayNanos), task);
    tasks.add(scheduled);
    return scheduled;
  }

  /** Runs every task due by now, on the calling thread. */
  void runDue() {
    while (true) {
      Scheduled next;
      synchronized (this) {
        next = tasks.stream().filter(t -> t.dueNanos() <= clock.nanoTime()).findFirst().orElse(null);
        if (next == null) {
          return;
        }
        tasks.remove(next);
      }
      next.runnable().run();
    }
  }

  synchronized int pending() {
    return tasks.size();
  }
}
