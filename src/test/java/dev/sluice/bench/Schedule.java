package dev.sluice.bench;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * The seeded open-loop schedule of the shaping and failover drivers: when each request is due, from the run's start,
 * and which {@code X-Priority} it carries. The same seed always gives the same schedule. Immutable once built (the
 * arrays are not handed out), so safe to share between threads.
 */
final class Schedule {
  /** The {@code X-Priority} values, most urgent first; a request's priority is an index into this. */
  static final String[] PRIORITIES = {"urgent", "high", "normal", "low"};
  /** The index of {@code urgent} in {@link #PRIORITIES}. */
  static final int URGENT = 0;
  /** The index of {@code normal} in {@link #PRIORITIES}. */
  static final int NORMAL = 2;
  /** Cumulative draw thresholds of the mix: 10 % urgent, 20 % high, 40 % normal, 30 % low. */
  private static final double[] PRIORITY_CUMULATIVE = {0.10, 0.30, 0.70, 1.00};

  private final long[] offsetsNanos;
  private final int[] priorities;

  private Schedule(long[] offsetsNanos, int[] priorities) {
    this.offsetsNanos = offsetsNanos;
    this.priorities = priorities;
  }

  /**
   * {@code round(rate × durationSeconds)} requests, evenly spaced ({@code i / rate}) or with Poisson arrivals at
   * {@code rate}, cut where Poisson offsets pass the duration. Each request draws its priority from the mix even when
   * {@code allNormal} sends every one as {@code normal}, so that both get the same Poisson offsets from a seed.
   */
  static Schedule of(double rate, int durationSeconds, long seed, boolean poisson, boolean allNormal) {
    int total = (int) Math.round(rate * durationSeconds);
    SplittableRandom random = new SplittableRandom(seed);
    long[] offsets = new long[total];
    int[] priorities = new int[total];
    double t = 0;
    for (int i = 0; i < total; i++) {
      if (poisson) {
        t += -Math.log(1.0 - random.nextDouble()) / rate;
      } else {
        t = i / rate;
      }
      offsets[i] = (long) (t * 1e9);
      double d = random.nextDouble();
      int p = 0;
      while (d >= PRIORITY_CUMULATIVE[p] && p < PRIORITIES.length - 1) {
        p++;
      }
      priorities[i] = allNormal ? NORMAL : p;
    }
    int count = total;
    while (count > 0 && offsets[count - 1] >= durationSeconds * 1_000_000_000L) {
      count--;
    }
    return new Schedule(Arrays.copyOf(offsets, count), Arrays.copyOf(priorities, count));
  }

  /** How many requests the schedule holds. */
  int count() {
    return offsetsNanos.length;
  }

  /** When request {@code i} is due, in nanoseconds from the run's start. */
  long offsetNanos(int i) {
    return offsetsNanos[i];
  }

  /** Request {@code i}'s priority, an index into {@link #PRIORITIES}. */
  int priority(int i) {
    return priorities[i];
  }
}
