package dev.sluice.schedule;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** Runs a task once after a delay; how the dispatcher waits without holding a thread. */
public interface Scheduler {

  /** A scheduled task that can be called off. */
  interface Task {
    void cancel();
  }

  Task schedule(Runnable task, long delayNanos);

  /** A scheduler on a JDK executor (one thread serves every pool's wakeups). */
  static Scheduler of(ScheduledExecutorService executor) {
    return (task, delayNanos) -> {
      ScheduledFuture<?> future = executor.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
      return () -> future.cancel(false);
    };
  }
}
