package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/** The latency summary of a load run's result line, in milliseconds, from an HdrHistogram of nanoseconds. */
class LatenciesTest {

  @Test
  void summaryMillis_uniformValues_givesPercentilesWithinAThousandth() {
    Histogram histogram = Latencies.newHistogram();
    for (long micros = 1; micros <= 10_000; micros++) {
      Latencies.record(histogram, micros * 1_000);
    }

    Map<String, Object> summary = Latencies.summaryMillis("ttfc_", histogram);

    assertThat(summary).containsOnlyKeys("ttfc_count", "ttfc_p50_ms", "ttfc_p90_ms", "ttfc_p99_ms",
        "ttfc_p999_ms", "ttfc_max_ms", "ttfc_mean_ms");
    assertThat(summary.get("ttfc_count")).isEqualTo(10_000L);
    assertThat((double) summary.get("ttfc_p50_ms")).isCloseTo(5.0, within(0.005));
    assertThat((double) summary.get("ttfc_p90_ms")).isCloseTo(9.0, within(0.009));
    assertThat((double) summary.get("ttfc_p99_ms")).isCloseTo(9.9, within(0.0099));
    assertThat((double) summary.get("ttfc_p999_ms")).isCloseTo(9.99, within(0.00999));
    assertThat((double) summary.get("ttfc_max_ms")).isCloseTo(10.0, within(0.01));
    assertThat((double) summary.get("ttfc_mean_ms")).isCloseTo(5.0005, within(0.005));
  }

  @Test
  void summaryMillis_oneSlowRequestInAThousand_showsAtP999AndMaxOnly() {
    Histogram histogram = Latencies.newHistogram();
    for (int i = 0; i < 999; i++) {
      Latencies.record(histogram, 200_000);
    }
    Latencies.record(histogram, 2_000_000_000L);

    Map<String, Object> summary = Latencies.summaryMillis("", histogram);

    assertThat((double) summary.get("p99_ms")).isCloseTo(0.2, within(0.0002));
    assertThat((double) summary.get("p999_ms")).isCloseTo(0.2, within(0.0002));
    assertThat((double) summary.get("max_ms")).isCloseTo(2_000.0, within(2.0));
  }

  @Test
  void summaryMillis_nothingRecorded_isAllZero() {
    Map<String, Object> summary = Latencies.summaryMillis("gap_", Latencies.newHistogram());

    assertThat(summary).containsEntry("gap_count", 0L).containsEntry("gap_p50_ms", 0.0)
        .containsEntry("gap_max_ms", 0.0).containsEntry("gap_mean_ms", 0.0);
  }

  @Test
  void record_negativeNanos_countsAsZero() {
    Histogram histogram = Latencies.newHistogram();

    Latencies.record(histogram, -5);

    assertThat(histogram.getTotalCount()).isEqualTo(1);
    assertThat(histogram.getMaxValue()).isZero();
  }

  @Test
  void record_fromManyThreads_losesNoValue() throws Exception {
    Histogram histogram = Latencies.newHistogram();
    int threads = 4;
    int each = 50_000;
    CountDownLatch start = new CountDownLatch(1);
    try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
      for (int t = 0; t < threads; t++) {
        long value = (t + 1) * 1_000_000L;
        pool.submit(() -> {
          start.await();
          for (int i = 0; i < each; i++) {
            Latencies.record(histogram, value);
          }
          return null;
        });
      }
      start.countDown();
    }

    assertThat(histogram.getTotalCount()).isEqualTo((long) threads * each);
    assertThat(histogram.getCountAtValue(4_000_000L)).isEqualTo(each);
  }
}
