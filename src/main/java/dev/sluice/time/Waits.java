package dev.sluice.time;

import java.math.BigDecimal;

/**
 * Waits as the headers of a 429 state them (Go durations and whole seconds), and the arithmetic of instants that
 * may be "never" ({@code Long.MAX_VALUE}). Stateless.
 */
public final class Waits {
  private static final long NANOS_PER_MILLI = 1_000_000L;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private Waits() {}

  /**
   * As OpenAI's {@code x-ratelimit-reset-*} headers state a wait (a Go duration):
   * {@code 0s}, {@code 250ms}, {@code 1.5s}, {@code 6m0s}, {@code 1m30.25s}: rounded up to whole milliseconds, so
   * waiting that long is always enough.
   */
  public static String goDuration(long nanos) {
    if (nanos <= 0) {
      return "0s";
    }
    long millis = (nanos + NANOS_PER_MILLI - 1) / NANOS_PER_MILLI;
    if (millis < 1000) {
      return millis + "ms";
    }
    long minutes = millis / 60_000;
    String seconds = BigDecimal.valueOf(millis % 60_000, 3).stripTrailingZeros().toPlainString() + "s";
    return minutes == 0 ? seconds : minutes + "m" + seconds;
  }

  /** {@code a + b}, or {@code Long.MAX_VALUE} (never) when it would overflow upwards. */
  public static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return ((a ^ sum) & (b ^ sum)) < 0 ? Long.MAX_VALUE : sum;
  }

  /** Whole seconds for {@code Retry-After}: rounded up, so waiting that long is always enough, and at least 1. */
  public static long retryAfterSeconds(long nanos) {
    return Math.max(1, saturatedAdd(nanos, NANOS_PER_SECOND - 1) / NANOS_PER_SECOND);
  }
}
