package dev.sluice.time;

import java.math.BigDecimal;

/** Formats waits the way OpenAI's {@code x-ratelimit-reset-*} headers do (Go durations). Stateless. */
public final class GoDuration {
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private GoDuration() {}

  /**
   * {@code 0s}, {@code 250ms}, {@code 1.5s}, {@code 6m0s}, {@code 1m30.25s}: rounded up to whole milliseconds, so
   * waiting that long is always enough.
   */
  public static String format(long nanos) {
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
}
