package dev.sluice.limit;

import java.util.Arrays;

/**
 * Accepted and refused answers per second over a sliding window of whole seconds, in a ring of one slot per
 * second. Seconds are counted by the caller from any origin. Not thread-safe: its owner synchronizes.
 */
final class SecondCounts {
  private final int windowSeconds;
  private final long[] second;
  private final long[] accepted;
  private final long[] refused;

  SecondCounts(int windowSeconds) {
    this.windowSeconds = windowSeconds;
    this.second = new long[windowSeconds];
    this.accepted = new long[windowSeconds];
    this.refused = new long[windowSeconds];
    clear();
  }

  void clear() {
    Arrays.fill(second, -1);
  }

  void add(long atSecond, boolean wasRefused) {
    int slot = (int) (atSecond % windowSeconds);
    if (second[slot] != atSecond) {
      second[slot] = atSecond;
      accepted[slot] = 0;
      refused[slot] = 0;
    }
    if (wasRefused) {
      refused[slot]++;
    } else {
      accepted[slot]++;
    }
  }

  /** Accepted answers in the window ending with {@code currentSecond}. */
  long accepted(long currentSecond) {
    return sum(accepted, currentSecond);
  }

  /** Refused answers in the window ending with {@code currentSecond}. */
  long refused(long currentSecond) {
    return sum(refused, currentSecond);
  }

  /** Accepted answers from {@code fromSecond} (within the window) to {@code currentSecond}, both included. */
  long acceptedSince(long fromSecond, long currentSecond) {
    long total = 0;
    for (int i = 0; i < windowSeconds; i++) {
      if (second[i] >= fromSecond && second[i] <= currentSecond) {
        total += accepted[i];
      }
    }
    return total;
  }

  private long sum(long[] counts, long currentSecond) {
    long total = 0;
    for (int i = 0; i < windowSeconds; i++) {
      if (second[i] >= 0 && second[i] > currentSecond - windowSeconds) {
        total += counts[i];
      }
    }
    return total;
  }
}
