package dev.sluice.limit;

/**
 * A limiter's answer at one instant: granted, or not before {@code retryAtNanos}.
 *
 * @param granted whether the request may go now
 * @param retryAtNanos when refused, the earliest {@link dev.sluice.time.Clock#nanoTime()} at which asking again
 *     can succeed; when granted, the instant of the decision
 */
public record Admission(boolean granted, long retryAtNanos) {

  public static Admission grantedAt(long nowNanos) {
    return new Admission(true, nowNanos);
  }

  public static Admission retryAt(long retryAtNanos) {
    return new Admission(false, retryAtNanos);
  }
}
