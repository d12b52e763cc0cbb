package dev.sluice.sim;

import java.util.ArrayDeque;

/**
 * The tokens accepted over a long sliding window, counted per whole second since {@code originNanos}: tokens accepted
 * during second k (from {@code origin + k s} up to, not including, {@code origin + (k + 1) s}) are in the window up
 * to the end of second {@code k + windowSeconds - 1} and leave it at {@code origin + (k + windowSeconds) s}. One
 * entry per second that had traffic, so a five-hour window costs at most 18000 entries whatever the request rate.
 * Not thread-safe: {@link Limits} guards it. Times are {@code Clock.nanoTime()} values passed in.
 */
final class BudgetWindow {
  /** What {@link #nanosUntilRoom} answers for a weight that can never fit. */
  static final long NEVER = -1;
  private static final long SECOND_NANOS = 1_000_000_000L;

  /** The tokens of one second; the newest one grows while that second lasts. */
  private static final class Second {
    final long index;
    long tokens;

    Second(long index, long tokens) {
      this.index = index;
      this.tokens = tokens;
    }
  }

  private final long originNanos;
  private final ArrayDeque<Second> seconds = new ArrayDeque<>();
  private long windowSeconds;
  private long sum;

  BudgetWindow(long originNanos, long windowSeconds) {
    this.originNanos = originNanos;
    this.windowSeconds = windowSeconds;
  }

  /** Changes the window's length; a longer one counts only what the shorter one still held. */
  void resize(long newWindowSeconds) {
    windowSeconds = newWindowSeconds;
  }

  /** Forgets the seconds that have left the window at {@code nowNanos}. */
  void evict(long nowNanos) {
    long oldestKept = secondOf(nowNanos) - windowSeconds + 1;
    while (!seconds.isEmpty() && seconds.peekFirst().index < oldestKept) {
      sum -= seconds.pollFirst().tokens;
    }
  }

  void add(long nowNanos, long tokens) {
    long index = secondOf(nowNanos);
    Second newest = seconds.peekLast();
    if (newest != null && newest.index >= index) {
      newest.tokens += tokens; // never earlier than the newest: the clock is monotonic
    } else {
      seconds.addLast(new Second(index, tokens));
    }
    sum += tokens;
  }

  /** Tokens in the window; call {@link #evict} first. */
  long sum() {
    return sum;
  }

  /**
   * Nanoseconds until {@code weight} more fits under {@code limit}: 0 if it fits now, otherwise until enough old
   * seconds have left; {@link #NEVER} for a weight larger than the limit. Call {@link #evict} first.
   */
  long nanosUntilRoom(long limit, long weight, long nowNanos) {
    if (sum + weight <= limit) {
      return 0;
    }
    if (weight > limit) {
      return NEVER;
    }
    long remaining = sum;
    for (Second second : seconds) {
      remaining -= second.tokens;
      if (remaining + weight <= limit) {
        return leavesAt(second) - nowNanos;
      }
    }
    throw new IllegalStateException("an empty window has room for " + weight + " of " + limit);
  }

  private long leavesAt(Second second) {
    return originNanos + (second.index + windowSeconds) * SECOND_NANOS;
  }

  private long secondOf(long nowNanos) {
    return Math.floorDiv(nowNanos - originNanos, SECOND_NANOS);
  }

  @Override
  public String toString() {
    return "BudgetWindow[sum=" + sum + ", seconds=" + seconds.size() + ", windowSeconds=" + windowSeconds + "]";
  }
}
