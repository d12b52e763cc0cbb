package dev.sluice.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Latency histograms of the load modes: HdrHistogram in nanoseconds with 3 significant digits (a reported
 * percentile is at most 0.1 % above the true value), resizing itself to whatever range it is given, and safe to
 * record into from any number of threads ({@link ConcurrentHistogram}).
 */
final class Latencies {
  private static final int SIGNIFICANT_DIGITS = 3;

  private Latencies() {}

  /** An empty histogram of nanoseconds for concurrent recording. */
  static Histogram newHistogram() {
    return new ConcurrentHistogram(SIGNIFICANT_DIGITS);
  }

  /** Records one latency in nanoseconds; a negative one (a clock read out of order) counts as 0. */
  static void record(Histogram histogram, long nanos) {
    histogram.recordValue(Math.max(0, nanos));
  }

  /**
   * The count, p50, p90, p99, p99.9, max and mean in milliseconds with 3 decimals, keyed by {@code prefix}
   * ({@code prefix + "p99_ms"}); all 0 when nothing was recorded.
   */
  static Map<String, Object> summaryMillis(String prefix, Histogram histogram) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put(prefix + "count", histogram.getTotalCount());
    out.put(prefix + "p50_ms", millis(histogram.getValueAtPercentile(50)));
    out.put(prefix + "p90_ms", millis(histogram.getValueAtPercentile(90)));
    out.put(prefix + "p99_ms", millis(histogram.getValueAtPercentile(99)));
    out.put(prefix + "p999_ms", millis(histogram.getValueAtPercentile(99.9)));
    out.put(prefix + "max_ms", millis(histogram.getMaxValue()));
    out.put(prefix + "mean_ms", histogram.getTotalCount() == 0 ? 0.0 : Math.round(histogram.getMean() / 1e3) / 1e3);
    return out;
  }

  /** Nanoseconds as milliseconds rounded to the microsecond. */
  static double millis(long nanos) {
    return Math.round(nanos / 1e3) / 1e3;
  }
}
