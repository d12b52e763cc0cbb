package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.sim.Admission.Verdict;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LimitsTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MILLI = 1_000_000L;

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

    assertThat(limits.tryAdmit(0, "m", 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(SECOND, "m", 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.CONCURRENCY);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "9"));
    assertThat(refused.message()).isEqualTo("Too many concurrent requests");
  }

  @Test
  void rateRefusalWhileAtTheConcurrencyLimitReadsAsRate() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(1).withMaxConcurrent(1), 0);

    assertThat(limits.tryAdmit(0, "m", 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(0, "m", 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.RATE);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "0"));
  }

  @Test
  void concurrencyIsCheckedOnlyAfterRateSoRemainingRequestsStaysPositive() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(5).withMaxConcurrent(1), 0);

    assertThat(limits.tryAdmit(0, "m", 10).accepted()).isTrue();
    Admission refused = limits.tryAdmit(0, "m", 10);

    assertThat(refused.verdict()).isEqualTo(Admission.Verdict.CONCURRENCY);
    assertThat(refused.headers()).contains(java.util.Map.entry("x-ratelimit-remaining-requests", "4"));
    limits.release();
    assertThat(limits.tryAdmit(0, "m", 10).accepted()).isTrue();
  }

  @Test
  void tpmWindowSlidesExactlySixtySecondsAfterEachAcceptedCall() {
    Limits limits = new Limits(SimConfig.defaults().withTpm(100), 0);
    assertThat(limits.tryAdmit(0, "m", 60).accepted()).isTrue();
    assertThat(limits.tryAdmit(10 * SECOND, "m", 40).accepted()).isTrue();

    Admission oneNanoEarly = limits.tryAdmit(60 * SECOND - 1, "m", 60);
    assertThat(oneNanoEarly.verdict()).isEqualTo(Verdict.TOKENS);
    assertThat(oneNanoEarly.retryAfterNanos()).isEqualTo(1);
    assertThat(limits.tryAdmit(60 * SECOND, "m", 60).accepted()).isTrue();
    // Now 40 (at 10 s) + 60 (at 60 s): the 40 leave at 70 s, not a moment before.
    assertThat(limits.tryAdmit(70 * SECOND - 1, "m", 40).retryAfterNanos()).isEqualTo(1);
    assertThat(limits.tryAdmit(70 * SECOND, "m", 40).accepted()).isTrue();
    assertThat(limits.tokensLastMinute(70 * SECOND)).isEqualTo(100);
    assertThat(limits.tokensLastMinute(130 * SECOND)).isZero();
  }

  @Test
  void callLargerThanTheWholeTpmIsRefusedForGoodEvenWithAnEmptyWindow() {
    Limits limits = new Limits(SimConfig.defaults().withTpm(100), 0);

    Admission refused = limits.tryAdmit(0, "sim/llama-3.1-8b", 101);

    assertThat(refused.verdict()).isEqualTo(Verdict.TOO_LARGE);
    assertThat(refused.retryAfterNanos()).isEqualTo(Admission.NEVER);
    assertThat(refused.message()).isEqualTo("Request too large for sim/llama-3.1-8b on tokens per min (TPM): "
        + "Limit 100, Requested 101. The input or output tokens must be reduced in order to run successfully.");
    assertThat(refused.headers()).containsExactly(Map.entry("x-ratelimit-limit-tokens", "100"),
        Map.entry("x-ratelimit-remaining-tokens", "100"), Map.entry("x-ratelimit-reset-tokens", "0s"));
    assertThat(limits.tryAdmit(0, "m", 100).accepted()).isTrue();
  }

  @Test
  void budgetWindowCountsWholeSecondsAndFreesThemExactlyAtTheEdge() {
    long start = 7 * SECOND + 250 * MILLI; // the window's seconds count from here
    Limits limits = new Limits(SimConfig.defaults().withTokenBudget(1000).withBudgetWindowSeconds(600), start);
    assertThat(limits.tryAdmit(start + 900 * MILLI, "m", 600).accepted()).isTrue(); // second 0
    assertThat(limits.tryAdmit(start + 10 * SECOND, "m", 400).accepted()).isTrue(); // second 10

    Admission lastMoment = limits.tryAdmit(start + 600 * SECOND - 1, "m", 1);
    assertThat(lastMoment.verdict()).isEqualTo(Verdict.QUOTA);
    assertThat(lastMoment.retryAfterNanos()).isEqualTo(1);
    assertThat(lastMoment.headers()).isEmpty();
    assertThat(limits.budgetWindowTokens(start + 600 * SECOND - 1)).isEqualTo(1000);
    assertThat(limits.budgetWindowTokens(start + 600 * SECOND)).isEqualTo(400);
    assertThat(limits.tryAdmit(start + 600 * SECOND, "m", 600).accepted()).isTrue();
    // 400 more need second 10 to leave, at 610 s.
    assertThat(limits.tryAdmit(start + 605 * SECOND, "m", 400).retryAfterNanos()).isEqualTo(5 * SECOND);
  }

  @Test
  void budgetMergesCallsOfOneSecondAndSaysWhenEnoughHasLeft() {
    BudgetWindow window = new BudgetWindow(0, 60);
    window.add(0, 10);
    window.add(999 * MILLI, 20);
    window.add(SECOND, 30);
    window.add(30 * SECOND + 1, 40);

    assertThat(window.sum()).isEqualTo(100);
    assertThat(window.nanosUntilRoom(100, 0, 5 * SECOND)).isZero();
    assertThat(window.nanosUntilRoom(100, 30, 5 * SECOND)).isEqualTo(55 * SECOND); // seconds 0 (30) leave at 60 s
    assertThat(window.nanosUntilRoom(100, 31, 5 * SECOND)).isEqualTo(56 * SECOND); // and second 1 at 61 s
    assertThat(window.nanosUntilRoom(100, 100, 5 * SECOND)).isEqualTo(85 * SECOND);
    assertThat(window.nanosUntilRoom(100, 101, 5 * SECOND)).isEqualTo(BudgetWindow.NEVER);
    window.evict(60 * SECOND);
    assertThat(window.sum()).isEqualTo(70);
    window.resize(10);
    window.evict(60 * SECOND);
    assertThat(window.sum()).isZero();
  }

  @Test
  void quotaIsCheckedFirstAndAnsweredWithoutRateHeaders() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(1).withTpm(100).withTokenBudget(150)
        .withQuotaMessage("Budget spent."), 0);
    assertThat(limits.tryAdmit(0, "m", 100).accepted()).isTrue();

    Admission refused = limits.tryAdmit(0, "m", 100);
    Admission never = limits.tryAdmit(0, "m", 151);

    assertThat(refused.verdict()).isEqualTo(Verdict.QUOTA);
    assertThat(refused.message()).isEqualTo("Budget spent.");
    assertThat(refused.headers()).isEmpty();
    assertThat(refused.retryAfterNanos()).isEqualTo(18_000 * SECOND);
    assertThat(never.verdict()).isEqualTo(Verdict.QUOTA);
    assertThat(never.retryAfterNanos()).isEqualTo(Admission.NEVER);
  }

  @Test
  void headersStateWhatIsLeftAfterTheCallAndWhenTheCountIsWholeAgain() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(10).withTpm(1000).withMaxConcurrent(1),
        0);

    Admission first = limits.tryAdmit(0, "m", 100);
    limits.release();
    Admission second = limits.tryAdmit(20 * SECOND + 500 * MILLI, "m", 300);
    Admission busy = limits.tryAdmit(21 * SECOND, "m", 10);

    assertThat(first.headers()).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "60"), Map.entry("x-ratelimit-remaining-requests", "9"),
        Map.entry("x-ratelimit-reset-requests", "1s"), Map.entry("x-ratelimit-limit-tokens", "1000"),
        Map.entry("x-ratelimit-remaining-tokens", "900"), Map.entry("x-ratelimit-reset-tokens", "1m0s"));
    assertThat(second.headers()).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "60"), Map.entry("x-ratelimit-remaining-requests", "9"),
        Map.entry("x-ratelimit-reset-requests", "1s"), Map.entry("x-ratelimit-limit-tokens", "1000"),
        Map.entry("x-ratelimit-remaining-tokens", "600"), Map.entry("x-ratelimit-reset-tokens", "1m0s"));
    // Refused by concurrency, so nothing counted: the bucket refills 9.5 -> 10 in 0.5 s, the tokens leave at 80.5 s.
    assertThat(busy.verdict()).isEqualTo(Verdict.CONCURRENCY);
    assertThat(busy.headers()).containsExactly(
        Map.entry("x-ratelimit-limit-requests", "60"), Map.entry("x-ratelimit-remaining-requests", "9"),
        Map.entry("x-ratelimit-reset-requests", "500ms"), Map.entry("x-ratelimit-limit-tokens", "1000"),
        Map.entry("x-ratelimit-remaining-tokens", "600"), Map.entry("x-ratelimit-reset-tokens", "59.5s"));
  }

  @Test
  void slidingWindowResetIsWhenTheLastAcceptedRequestLeaves() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(3).withRateAlgorithm(RateAlgorithm.SLIDING_WINDOW), 0);
    limits.tryAdmit(0, "m", 1);

    Admission later = limits.tryAdmit(15 * SECOND, "m", 1);

    assertThat(later.headers()).containsExactly(Map.entry("x-ratelimit-limit-requests", "3"),
        Map.entry("x-ratelimit-remaining-requests", "1"), Map.entry("x-ratelimit-reset-requests", "1m0s"));
  }

  @Test
  void rateHeadersOffSendNoneOnAnyAnswer() {
    Limits limits = new Limits(SimConfig.defaults().withRpm(60).withBurst(1).withTpm(100).withMaxConcurrent(1)
        .withRateHeaders(false), 0);

    Admission accepted = limits.tryAdmit(0, "m", 10);
    Admission rate = limits.tryAdmit(0, "m", 10);
    Admission tooLarge = limits.tryAdmit(0, "m", 101);
    Admission concurrency = limits.tryAdmit(SECOND, "m", 10);

    assertThat(List.of(accepted, rate, tooLarge, concurrency)).extracting(Admission::verdict)
        .containsExactly(Verdict.ACCEPTED, Verdict.RATE, Verdict.TOO_LARGE, Verdict.CONCURRENCY);
    assertThat(List.of(accepted, rate, tooLarge, concurrency)).allSatisfy(a -> assertThat(a.headers()).isEmpty());
  }
}
