package dev.sluice.time;

/**
 * The one source of time in Sluice: a monotonic nanosecond ticker for measuring and deciding, and wall time for
 * timestamps and stored rows. Passed to every limiter, the dispatcher and the simulated provider so that tests
 * drive time by hand instead of sleeping.
 *
 * <p>Implementations are thread-safe.
 */
public interface Clock {

  /** Monotonic time in nanoseconds from an arbitrary origin; only differences are meaningful. */
  long nanoTime();

  /** Wall-clock time in milliseconds since the epoch; for timestamps only, never for measuring intervals. */
  long wallTimeMillis();

  /** The system clock: {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
  static Clock system() {
    return SystemClock.INSTANCE;
  }
}
