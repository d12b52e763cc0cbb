package dev.sluice.sim;

/** Whole-second waits for {@code Retry-After}; Go durations are {@link dev.sluice.time.GoDuration}'s. Stateless. */
final class Durations {
  private Durations() {}

  /** Whole seconds for {@code Retry-After}: rounded up, at least 1. */
  static long retryAfterSeconds(long nanos) {
    return Math.max(1, (nanos + 999_999_999L) / 1_000_000_000L);
  }
}
