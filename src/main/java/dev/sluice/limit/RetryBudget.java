package dev.sluice.limit;

/**
 * A pool's allowance for retries, so that retries never multiply an outage: over a sliding window of
 * {@code windowSeconds}, retries (second and later attempts of a request) may add at most {@code percent} of the
 * first attempts, plus a small reserve of {@value #RESERVE_PER_WINDOW} per window so that a quiet pool can still
 * fail over. A retry taken counts at once; a refused one is not counted.
 *
 * <p>Never reads a clock: callers pass {@code nowNanos}. Thread-safe: every method holds this object's monitor.
 */
public final class RetryBudget {
  /** Retries allowed per window whatever the traffic. */
  public static final int RESERVE_PER_WINDOW = 10;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final SecondCounts counts;
  private final long originNanos;
  private final int percent;

  /**
   * @param percent retries allowed as a share of first attempts, 0..100
   * @param windowSeconds the sliding window, in whole seconds, at least 1
   * @param originNanos an instant at or before every later {@code nowNanos}; seconds are counted from it
   */
  public RetryBudget(int percent, int windowSeconds, long originNanos) {
    if (percent < 0 || percent > 100 || windowSeconds < 1) {
      throw new IllegalArgumentException("retry budget needs 0..100 percent and a window of 1 s or more: " + percent
          + ", " + windowSeconds);
    }
    this.percent = percent;
    this.originNanos = originNanos;
    this.counts = new SecondCounts(windowSeconds);
  }

  /** A first attempt was sent at {@code nowNanos}. */
  public synchronized void onFirstAttempt(long nowNanos) {
    counts.add(second(nowNanos), false);
  }

  /** Takes one retry from the budget if it allows one at {@code nowNanos}; false (and nothing taken) otherwise. */
  public synchronized boolean tryRetry(long nowNanos) {
    long second = second(nowNanos);
    long allowed = counts.accepted(second) * percent / 100 + RESERVE_PER_WINDOW;
    if (counts.refused(second) >= allowed) {
      return false;
    }
    counts.add(second, true);
    return true;
  }

  /** What the window holds at {@code nowNanos}, for status pages. */
  public synchronized RetryUsage usage(long nowNanos) {
    long second = second(nowNanos);
    return new RetryUsage(counts.accepted(second), counts.refused(second));
  }

  private long second(long nowNanos) {
    return Math.max(0, nowNanos - originNanos) / NANOS_PER_SECOND;
  }
}
