package dev.sluice.limit;

import io.github.bucket4j.TimeMeter;

/**
 * Bucket4j's time for a bucket that never reads a clock: the instant of the decision in progress, set by the
 * bucket's owner before each call and read under the owner's monitor.
 */
final class DecisionInstant implements TimeMeter {
  long nanos;

  @Override
  public long currentTimeNanos() {
    return nanos;
  }

  @Override
  public boolean isWallClockBased() {
    return false;
  }
}
