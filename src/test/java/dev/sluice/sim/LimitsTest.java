package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LimitsTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void timeWindowNamesWhenEnoughWeightHasLeft() {
    TimeWindow window = new TimeWindow(60 * SECOND);
    window.add(0, 40);
    window.add(10 * SECOND, 40);

    assertThat(window.nanosUntilRoom(100, 20, 20 * SECOND)).isZero();
    assertThat(window.nanosUntilRoom(100, 30, 20 * SECOND)).isEqualTo(40 * SECOND);
    assertThat(window.nanosUntilRoom(100, 90, 20 * SECOND)).isEqualTo(50 * SECOND);
    assertThat(window.nanosUntilRoom(100, 101, 20 * SECOND)).isEqualTo(60 * SECOND);
    window.evict(60 * SECOND);
    assertThat(window.sum()).isEqualTo(40);
    assertThat(window.count()).isEqualTo(1);
  }

  @Test
  void timeWindowGrowsPastItsInitialCapacity() {
    TimeWindow window = new TimeWindow(60 * SECOND);
    for (int i = 0; i < 1000; i++) {
      window.add(i, 1);
    }

    assertThat(window.count()).isEqualTo(1000);
    assertThat(window.countSince(900)).isEqualTo(100);
    window.evict(60 * SECOND + 499);
    assertThat(window.count()).isEqualTo(500);
  }

  @Test
  void slidingWindowConcurrencyRefusalSaysWhatTheMinuteStillAllows() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(10).withRateAlgorithm(RateAlgorithm.SLIDING_WINDOW)
        .withMaxConcurrent(1), 0);

    assertThat(limits.tryAdmit(0, 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(SECOND, 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.CONCURRENCY);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "9"));
    assertThat(refused.message()).isEqualTo("Too many concurrent requests");
  }

  @Test
  void rateRefusalWhileAtTheConcurrencyLimitReadsAsRate() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(1).withMaxConcurrent(1), 0);

    assertThat(limits.tryAdmit(0, 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(0, 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.RATE);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "0"));
  }

  @Test
  void concurrencyIsCheckedOnlyAfterRateSoRemainingRequestsStaysPositive() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(5).withMaxConcurrent(1), 0);

    assertThat(limits.tryAdmit(0, 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(0, 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.CONCURRENCY);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "4"));
    limits.release();
    assertThat(limits.tryAdmit(0, 10).accepted()).isTrue();
  }
}
