package dev.sluice.sim;

/**
 * How the simulated provider lets time pass on a request's thread: its time to first token, per-token delay and
 * stalls all go through one. {@link #system()} sleeps in real time; a test passes one that returns only when the
 * test advances a manual clock, so pacing is checked without real waits.
 *
 * <p>Implementations are thread-safe: many requests sleep at once, each on its own thread.
 */
@FunctionalInterface
public interface Sleeper {

  /**
   * Blocks the calling thread for {@code millis} milliseconds; called only with more than 0.
   *
   * @throws InterruptedException if the thread is interrupted while it waits (the simulated provider interrupts
   *     its waiting requests when it closes)
   */
  void sleepMillis(long millis) throws InterruptedException;

  /** Real time: {@link Thread#sleep(long)}. */
  static Sleeper system() {
    return Thread::sleep;
  }
}
