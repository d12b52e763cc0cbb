package dev.sluice.sim;

/**
 * A log of weighted events (accepted requests, or their tokens) over a sliding window, oldest first. Not
 * thread-safe: {@link Limits} guards it. Times are {@code Clock.nanoTime()} values passed in.
 */
final class TimeWindow {
  private final long windowNanos;
  private long[] times = new long[64];
  private long[] weights = new long[64];
  private int head;
  private int size;
  private long sum;

  TimeWindow(long windowNanos) {
    this.windowNanos = windowNanos;
  }

  /** Forgets events at or before {@code nowNanos - windowNanos}. */
  void evict(long nowNanos) {
    while (size > 0 && times[head] <= nowNanos - windowNanos) {
      sum -= weights[head];
      head = (head + 1) % times.length;
      size--;
    }
  }

  void add(long nowNanos, long weight) {
    if (size == times.length) {
      grow();
    }
    int tail = (head + size) % times.length;
    times[tail] = nowNanos;
    weights[tail] = weight;
    size++;
    sum += weight;
  }

  /** Events in the window; call {@link #evict} first. */
  int count() {
    return size;
  }

  /** Total weight in the window; call {@link #evict} first. */
  long sum() {
    return sum;
  }

  /** Events at or after {@code sinceNanos}. */
  int countSince(long sinceNanos) {
    int n = 0;
    for (int i = size - 1; i >= 0 && times[(head + i) % times.length] >= sinceNanos; i--) {
      n++;
    }
    return n;
  }

  /** Nanoseconds until the newest event leaves the window, and with it every event; 0 when empty. */
  long nanosUntilEmpty(long nowNanos) {
    return size == 0 ? 0 : Math.max(0, times[(head + size - 1) % times.length] + windowNanos - nowNanos);
  }

  /**
   * Nanoseconds until {@code weight} more fits under {@code limit}: 0 if it fits now, otherwise until enough old
   * events have left. A weight larger than the limit never fits; the answer is then the whole window.
   */
  long nanosUntilRoom(long limit, long weight, long nowNanos) {
    if (sum + weight <= limit) {
      return 0;
    }
    if (weight > limit) {
      return windowNanos;
    }
    long remaining = sum;
    for (int i = 0; i < size; i++) {
      int at = (head + i) % times.length;
      remaining -= weights[at];
      if (remaining + weight <= limit) {
        return Math.max(1, times[at] + windowNanos - nowNanos);
      }
    }
    return windowNanos;
  }

  private void grow() {
    long[] newTimes = new long[times.length * 2];
    long[] newWeights = new long[times.length * 2];
    for (int i = 0; i < size; i++) {
      newTimes[i] = times[(head + i) % times.length];
      newWeights[i] = weights[(head + i) % times.length];
    }
    times = newTimes;
    weights = newWeights;
    head = 0;
  }

  @Override
  public String toString() {
    return "TimeWindow[count=" + size + ", sum=" + sum + ", windowNanos=" + windowNanos + "]";
  }
}
