package dev.sluice.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A log-linear bucketed latency histogram in microseconds, in the manner of HdrHistogram with 2 significant
 * digits: values below 256 µs have their own bucket; above that, each power of two is split into 128 equal
 * buckets, so a reported value is at most 1/128 (0.8 %) above the true one. Values up to 2^36 µs (about 19 hours)
 * are recorded exactly into 4,096 buckets; larger ones are clamped.
 *
 * <p>Thread-safety: {@link #record} may be called from any number of threads (atomic counters). Reading
 * percentiles while others record gives a consistent-enough snapshot for reporting, not an atomic one.
 */
final class LatencyHistogram {
  private static final int SUB_BITS = 7;
  private static final int SUB_COUNT = 1 << SUB_BITS;
  private static final long MAX_VALUE_MICROS = (1L << 36) - 1;
  private static final int BUCKETS = index(MAX_VALUE_MICROS) + 1;

  private final AtomicLongArray counts = new AtomicLongArray(BUCKETS);
  private final AtomicLong total = new AtomicLong();
  private final AtomicLong sumMicros = new AtomicLong();
  private final AtomicLong maxMicros = new AtomicLong();

  /** Records one latency in microseconds; negative values count as 0. */
  void record(long micros) {
    long value = Math.clamp(micros, 0, MAX_VALUE_MICROS);
    counts.incrementAndGet(index(value));
    total.incrementAndGet();
    sumMicros.addAndGet(value);
    maxMicros.accumulateAndGet(value, Math::max);
  }

  /** Records a latency given in nanoseconds. */
  void recordNanos(long nanos) {
    record(nanos / 1_000);
  }

  long count() {
    return total.get();
  }

  long maxMicros() {
    return maxMicros.get();
  }

  double meanMicros() {
    long n = total.get();
    return n == 0 ? 0 : (double) sumMicros.get() / n;
  }

  /** Share of recorded values strictly below {@code micros}, at bucket resolution. */
  double shareBelow(long micros) {
    long n = total.get();
    if (n == 0) {
      return 0;
    }
    long below = 0;
    for (int i = 0; i < BUCKETS; i++) {
      if (highestEquivalent(i) >= micros) {
        break;
      }
      below += counts.get(i);
    }
    return (double) below / n;
  }

  /**
   * The value at {@code percentile} (0..100): the highest value equivalent to the bucket holding the
   * ceil(p/100 × count)-th smallest sample, never above the recorded maximum. 0 when empty.
   */
  long percentileMicros(double percentile) {
    long n = total.get();
    if (n == 0) {
      return 0;
    }
    long rank = Math.max(1, (long) Math.ceil(percentile / 100.0 * n));
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += counts.get(i);
      if (seen >= rank) {
        return Math.min(highestEquivalent(i), maxMicros.get());
      }
    }
    return maxMicros.get();
  }

  /** p50, p90, p99, p99.9 and max in milliseconds (3 decimals), plus the count, keyed by {@code prefix}. */
  Map<String, Object> summaryMillis(String prefix) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put(prefix + "count", count());
    out.put(prefix + "p50_ms", millis(percentileMicros(50)));
    out.put(prefix + "p90_ms", millis(percentileMicros(90)));
    out.put(prefix + "p99_ms", millis(percentileMicros(99)));
    out.put(prefix + "p999_ms", millis(percentileMicros(99.9)));
    out.put(prefix + "max_ms", millis(maxMicros()));
    out.put(prefix + "mean_ms", Math.round(meanMicros()) / 1000.0);
    return out;
  }

  static double millis(long micros) {
    return micros / 1000.0;
  }

  static int index(long value) {
    int msb = 63 - Long.numberOfLeadingZeros(value | 1);
    int shift = Math.max(0, msb - SUB_BITS);
    return (shift << SUB_BITS) + (int) (value >>> shift);
  }

  /** The largest value that maps to bucket {@code index}. */
  static long highestEquivalent(int index) {
    if (index < 2 * SUB_COUNT) {
      return index;
    }
    int shift = (index >>> SUB_BITS) - 1;
    long mantissa = index - ((long) shift << SUB_BITS);
    return ((mantissa + 1) << shift) - 1;
  }
}
