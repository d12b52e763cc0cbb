package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.QuotaGuard.Admit;
import dev.sluice.limit.QuotaGuard.Hold;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class QuotaGuardTest {
  private static final long SECOND = 1_000L;
  private static final Admit REQUEST = new Admit(false);
  private static final Admit PROBE = new Admit(true);

  /** Wall milliseconds of {@code hh:mm:ss(.SSS)} on 2 March 2026, UTC. */
  private static long at(String time) {
    return Instant.parse("2026-03-02T" + time + "Z").toEpochMilli();
  }

  private static QuotaGuard guard(long budgetTokens, int windowHours, int thresholdPercent, int probeSeconds) {
    return new QuotaGuard(new QuotaGuard.Policy(budgetTokens, Duration.ofHours(windowHours), thresholdPercent,
        Duration.ofSeconds(probeSeconds)));
  }

  /** A budget of 1000 over 1 h at 99 % (trips at 990), one probe every 300 s. */
  private static QuotaGuard guard() {
    return guard(1_000, 1, 99, 300);
  }

  private static void use(QuotaGuard guard, long wallMillis, long tokens) {
    guard.onAnswer(wallMillis, tokens, false, true, false, 0, "");
  }

  private static boolean answerProbe(QuotaGuard guard, long wallMillis, boolean accepted) {
    return guard.onAnswer(wallMillis, 10, true, accepted, false, 0, "");
  }

  private static void quotaError(QuotaGuard guard, long wallMillis, long retryAfterMillis) {
    guard.onAnswer(wallMillis, 0, false, false, true, retryAfterMillis, "the provider answered 429 with its quota error");
  }

  /** Trips {@link #guard()} by usage at 10:00:30; its first probe may go at 10:05:30. */
  private static QuotaGuard trippedAtHalfPastTen() {
    QuotaGuard guard = guard();
    use(guard, at("10:00:30"), 995);
    assertThat(guard.admit(at("10:00:30"))).isEqualTo(new Hold(at("10:05:30")));
    guard.takeChange();
    return guard;
  }

  @Test
  void withinQuotaUntilUsageReachesTheThresholdExactly() {
    QuotaGuard guard = guard();
    use(guard, at("10:00:00"), 989);
    assertThat(guard.admit(at("10:00:00"))).isEqualTo(REQUEST);
    assertThat(guard.state()).isEqualTo(QuotaState.WITHIN_QUOTA);

    use(guard, at("10:00:01"), 1);

    assertThat(guard.admit(at("10:00:01"))).isEqualTo(new Hold(at("10:05:01")));
    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
  }

  @ParameterizedTest(name = "{0} tokens at {1} % trips at {2}")
  @CsvSource({"1000, 99, 990", "1001, 99, 991", "2000000, 99, 1980000", "100, 7, 7", "25, 28, 7", "50, 56, 28",
      "1, 1, 1", "1, 100, 1", "3, 50, 2", "1000000000000, 100, 1000000000000", "1000000000000, 99, 990000000000"})
  void theThresholdIsTheBudgetShareRoundedUpToAWholeToken(long budget, int percent, long threshold) {
    QuotaGuard guard = guard(budget, 5, percent, 300);
    use(guard, at("10:00:00"), threshold - 1);
    assertThat(guard.admit(at("10:00:00"))).as("one token short").isEqualTo(REQUEST);

    use(guard, at("10:00:00"), 1);

    assertThat(guard.admit(at("10:00:00"))).isInstanceOf(Hold.class);
  }

  @Test
  void anExceededGuardLetsOneProbeGoEveryInterval() {
    QuotaGuard guard = trippedAtHalfPastTen();

    assertThat(guard.admit(at("10:05:29.999"))).isEqualTo(new Hold(at("10:05:30")));
    assertThat(guard.admit(at("10:05:30"))).isEqualTo(PROBE);
    assertThat(guard.admit(at("10:05:30"))).as("not sent yet: other limits may hold it back").isEqualTo(PROBE);

    assertThat(guard.probeSent(at("10:05:31"))).as("the trip").isEqualTo(at("10:00:30"));

    // While the probe is out no other goes; only usage sliding out of the window (at 11:00) ends the hold sooner.
    assertThat(guard.admit(at("10:05:31"))).as("while the probe is out").isEqualTo(new Hold(at("11:00:00")));
    assertThat(guard.admit(at("10:20:00"))).isEqualTo(new Hold(at("11:00:00")));
  }

  @Test
  void anAcceptedProbeRestoresTheBackend() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    guard.probeSent(at("10:05:30"));

    assertThat(answerProbe(guard, at("10:05:32"), true)).as("room made").isTrue();

    assertThat(guard.state()).isEqualTo(QuotaState.WITHIN_QUOTA);
    assertThat(guard.admit(at("10:05:32"))).isEqualTo(REQUEST);
    assertThat(guard.takeChange().message()).isEqualTo("within quota again: the probe was accepted");
  }

  @Test
  void aProbeRefusedWithTheQuotaErrorKeepsItExceededAndTheNextWaitsAFullIntervalFromTheAnswer() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    guard.probeSent(at("10:05:30"));

    assertThat(guard.onAnswer(at("10:05:32"), 0, true, false, true, 0, "over quota")).isFalse();

    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(guard.admit(at("10:10:31.999"))).isEqualTo(new Hold(at("10:10:32")));
    assertThat(guard.admit(at("10:10:32"))).isEqualTo(PROBE);
  }

  @Test
  void aProbeAnsweredWithAnotherErrorKeepsItExceededForAnIntervalFromTheProbe() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    guard.probeSent(at("10:05:30"));

    assertThat(answerProbe(guard, at("10:05:40"), false)).isFalse();

    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(guard.admit(at("10:05:40"))).isEqualTo(new Hold(at("10:10:30")));
    assertThat(guard.admit(at("10:10:30"))).isEqualTo(PROBE);
  }

  @Test
  void aLostProbeLetsTheNextGoAtOnce() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    long previous = guard.probeSent(at("10:05:30"));

    guard.onProbeLost(previous);

    assertThat(guard.admit(at("10:05:31"))).isEqualTo(PROBE);
    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
  }

  @Test
  void usageSlidingBelowTheThresholdRestoresTheBackendWhenNoCapErrorIsActive() {
    QuotaGuard guard = guard(1_000, 1, 99, 7_200);
    use(guard, at("10:00:30"), 995);

    // The probe would be at 12:00:30; the usage leaves the 1 h window sooner, at 11:00:00.
    assertThat(guard.admit(at("10:00:30"))).isEqualTo(new Hold(at("11:00:00")));
    assertThat(guard.admit(at("10:59:59.999"))).isEqualTo(new Hold(at("11:00:00")));
    guard.takeChange();

    assertThat(guard.admit(at("11:00:00"))).isEqualTo(REQUEST);
    assertThat(guard.state()).isEqualTo(QuotaState.WITHIN_QUOTA);
    assertThat(guard.takeChange().message()).isEqualTo("within quota again: usage slid below the threshold");
  }

  @Test
  void usageSlidingBelowTheThresholdDoesNotRestoreWhileACapErrorIsActive() {
    QuotaGuard guard = guard(1_000, 1, 99, 7_200);
    use(guard, at("10:00:30"), 995);
    quotaError(guard, at("10:00:40"), 0);

    assertThat(guard.admit(at("10:00:40"))).as("the probe, not the window, decides")
        .isEqualTo(new Hold(at("12:00:40")));
    assertThat(guard.admit(at("11:30:00"))).isEqualTo(new Hold(at("12:00:40")));
    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(guard.snapshot(at("11:30:00")).windowUsageTokens()).isZero();

    assertThat(guard.admit(at("12:00:40"))).isEqualTo(PROBE);
    guard.probeSent(at("12:00:40"));
    answerProbe(guard, at("12:00:41"), true);
    assertThat(guard.admit(at("12:00:41"))).isEqualTo(REQUEST);
  }

  @Test
  void aCapErrorTripsAtOnceEvenWellWithinTheBudget() {
    QuotaGuard guard = guard(1_000_000, 5, 99, 300);
    use(guard, at("10:00:00"), 10);
    assertThat(guard.admit(at("10:00:00"))).isEqualTo(REQUEST);

    quotaError(guard, at("10:00:05"), 0);

    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(guard.admit(at("10:00:05"))).isEqualTo(new Hold(at("10:05:05")));
  }

  @Test
  void withoutABudgetOnlyCapErrorsTripTheGuard() {
    QuotaGuard guard = new QuotaGuard(QuotaGuard.Policy.capErrorsOnly());
    use(guard, at("10:00:00"), Long.MAX_VALUE / 4);
    assertThat(guard.admit(at("10:00:00"))).isEqualTo(REQUEST);

    quotaError(guard, at("10:00:05"), 0);

    assertThat(guard.admit(at("10:00:05"))).isEqualTo(new Hold(at("10:05:05")));
    assertThat(guard.admit(at("10:05:05"))).isEqualTo(PROBE);
    guard.probeSent(at("10:05:05"));
    answerProbe(guard, at("10:05:06"), true);
    assertThat(guard.admit(at("10:05:06"))).isEqualTo(REQUEST);
    assertThat(guard.snapshot(at("10:05:06")).usagePercent()).isZero();
  }

  @ParameterizedTest(name = "Retry-After {0} ms, configured {1} s: probe every {2} ms")
  @CsvSource({"600000, 300, 660000", "100000, 300, 300000", "272728, 300, 300001", "1001, 1, 1102",
      "0, 300, 300000"})
  void aRetryAfterStretchesTheProbeIntervalToAtLeastElevenTenthsOfIt(long retryAfterMillis, int probeSeconds,
      long intervalMillis) {
    QuotaGuard guard = guard(1_000_000, 5, 99, probeSeconds);

    quotaError(guard, at("10:00:00"), retryAfterMillis);

    assertThat(guard.snapshot(at("10:00:00")).probeIntervalMillis()).isEqualTo(intervalMillis);
    assertThat(guard.admit(at("10:00:00"))).isEqualTo(new Hold(at("10:00:00") + intervalMillis));
  }

  @Test
  void anAcceptedProbeReturnsToTheConfiguredInterval() {
    QuotaGuard guard = guard(1_000_000, 5, 99, 300);
    quotaError(guard, at("10:00:00"), 600 * SECOND);
    guard.admit(at("10:11:00"));
    guard.probeSent(at("10:11:00"));
    answerProbe(guard, at("10:11:01"), true);

    quotaError(guard, at("10:20:00"), 0);

    assertThat(guard.admit(at("10:20:00"))).isEqualTo(new Hold(at("10:25:00")));
  }

  @Test
  void afterAnAcceptedProbeUsageTripsAgainOnlyOnceItHasBeenBelowTheThreshold() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    guard.probeSent(at("10:05:30"));
    answerProbe(guard, at("10:05:31"), true);

    use(guard, at("10:10:00"), 500);
    assertThat(guard.admit(at("10:10:00"))).as("1505 tokens, trusted after the probe").isEqualTo(REQUEST);
    assertThat(guard.admit(at("10:59:00"))).isEqualTo(REQUEST);

    // 10:00's 995 leave at 11:00; the probe's 10 and 10:10's 500 stay: below the threshold once.
    assertThat(guard.admit(at("11:00:00"))).isEqualTo(REQUEST);
    use(guard, at("11:00:10"), 479);
    assertThat(guard.admit(at("11:00:10"))).as("989").isEqualTo(REQUEST);
    use(guard, at("11:00:20"), 1);

    assertThat(guard.admit(at("11:00:20"))).isInstanceOf(Hold.class);
    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
  }

  @Test
  void aCapErrorTripsAtOnceEvenWhileUsageIsTrustedAfterAProbe() {
    QuotaGuard guard = trippedAtHalfPastTen();
    guard.admit(at("10:05:30"));
    guard.probeSent(at("10:05:30"));
    answerProbe(guard, at("10:05:31"), true);

    quotaError(guard, at("10:06:00"), 0);

    assertThat(guard.state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(guard.admit(at("10:06:00"))).isEqualTo(new Hold(at("10:11:00")));
  }

  @Test
  void aProbeAnsweredAfterUsageSlidBelowTheThresholdTellsNoSecondRestore() {
    QuotaGuard guard = guard(1_000, 1, 99, 3_300);
    use(guard, at("10:00:30"), 995);
    guard.admit(at("10:00:30"));
    assertThat(guard.admit(at("10:55:30"))).isEqualTo(PROBE);
    guard.probeSent(at("10:55:30"));
    assertThat(guard.admit(at("11:00:00"))).isEqualTo(REQUEST);
    guard.takeChange();

    answerProbe(guard, at("11:00:05"), true);

    assertThat(guard.takeChange()).as("it was within quota already").isNull();
    assertThat(guard.state()).isEqualTo(QuotaState.WITHIN_QUOTA);
  }

  @Test
  void resetForgetsTheWindowAndRestoresTheBackend() {
    QuotaGuard guard = trippedAtHalfPastTen();
    quotaError(guard, at("10:01:00"), 600 * SECOND);
    guard.takeChange();

    guard.reset();

    assertThat(guard.state()).isEqualTo(QuotaState.WITHIN_QUOTA);
    assertThat(guard.takeChange().message()).isEqualTo("within quota again: reset by an operator");
    QuotaSnapshot snapshot = guard.snapshot(at("10:01:00"));
    assertThat(snapshot.windowUsageTokens()).isZero();
    assertThat(snapshot.capError()).isFalse();
    assertThat(snapshot.capErrorMessage()).isEmpty();
    assertThat(snapshot.probeIntervalMillis()).isEqualTo(300 * SECOND);
    // Usage is armed again at once: the next 990 tokens trip it.
    use(guard, at("10:02:00"), 990);
    assertThat(guard.admit(at("10:02:00"))).isEqualTo(new Hold(at("10:07:00")));
  }

  @Test
  void aResetWithinQuotaTellsNothing() {
    QuotaGuard guard = guard();
    use(guard, at("10:00:00"), 100);

    guard.reset();

    assertThat(guard.changed()).isFalse();
    assertThat(guard.takeChange()).isNull();
    assertThat(guard.snapshot(at("10:00:00")).windowUsageTokens()).isZero();
  }

  @Test
  void theSnapshotShowsUsageAgainstTheBudgetAndTheNextProbe() {
    QuotaGuard guard = guard(2_000, 5, 99, 300);
    use(guard, at("10:00:00"), 500);
    QuotaSnapshot within = guard.snapshot(at("10:00:00"));
    assertThat(within).isEqualTo(new QuotaSnapshot(QuotaState.WITHIN_QUOTA, 500, 2_000, 25.0, 99, 5, false, "", 300_000,
        0, 0, 0, 0));

    use(guard, at("10:01:00"), 1_500);
    guard.admit(at("10:01:00"));
    guard.admit(at("10:06:00"));
    guard.probeSent(at("10:06:00"));
    guard.onAnswer(at("10:06:01"), 0, true, false, true, 400 * SECOND, "over quota");

    assertThat(guard.snapshot(at("10:06:01"))).isEqualTo(new QuotaSnapshot(QuotaState.QUOTA_EXCEEDED, 2_000, 2_000,
        100.0, 99, 5, true, "over quota", 440_000, at("10:06:01"), at("10:06:01") + 440_000, 1, 1));
  }

  @Test
  void theChangesAreToldOnceInWords() {
    QuotaGuard guard = guard(2_000, 5, 99, 300);
    assertThat(guard.changed()).isFalse();
    use(guard, at("10:00:00"), 1_990);
    guard.admit(at("10:00:00"));

    assertThat(guard.changed()).isTrue();
    assertThat(guard.takeChange().message()).isEqualTo("quota exceeded: 1990 tokens in the last 5 h, 99.5 % of the budget of 2000"
        + " (threshold 99 %); one probe every 300 s");
    assertThat(guard.changed()).isFalse();
    assertThat(guard.takeChange()).isNull();

    quotaError(guard, at("10:00:10"), 1_000 * SECOND);
    assertThat(guard.takeChange().message()).isEqualTo("quota exceeded: the provider answered 429 with its quota error; one"
        + " probe every 1100 s");
  }

  @Test
  void savedStateRestoresTheSameGuardInANewProcess() {
    QuotaGuard before = guard(1_000, 5, 99, 300);
    use(before, at("09:00:00"), 200);
    use(before, at("10:00:30"), 300);
    quotaError(before, at("10:00:40"), 500 * SECOND);
    before.admit(at("10:10:00"));
    before.probeSent(at("10:10:00"));
    before.onAnswer(at("10:10:01"), 50, true, false, true, 0, "over quota again");
    QuotaGuard.Saved saved = before.saved();
    assertThat(saved).isEqualTo(new QuotaGuard.Saved(true, at("10:00:40"), "over quota again", at("10:10:01"),
        300_000));

    // The window's minutes are saved apart from the state, as they change.
    List<TokenWindow.Minute> usage = before.drainChangedUsage();
    assertThat(usage).containsExactly(new TokenWindow.Minute(at("09:00:00") / 60_000, 200),
        new TokenWindow.Minute(at("10:00:00") / 60_000, 300), new TokenWindow.Minute(at("10:10:00") / 60_000, 50));

    QuotaGuard after = guard(1_000, 5, 99, 300);
    after.restore(saved, usage, at("10:12:00"));

    assertThat(after.saved()).isEqualTo(saved);
    QuotaSnapshot restored = after.snapshot(at("10:12:00"));
    QuotaSnapshot original = before.snapshot(at("10:12:00"));
    assertThat(restored.windowUsageTokens()).isEqualTo(original.windowUsageTokens()).isEqualTo(550);
    assertThat(restored.nextProbeMillis()).isEqualTo(original.nextProbeMillis()).isEqualTo(at("10:15:01"));
    assertThat(after.admit(at("10:15:00"))).isEqualTo(new Hold(at("10:15:01")));
    assertThat(after.admit(at("10:15:01"))).isEqualTo(PROBE);
    assertThat(after.drainChangedUsage()).as("restored usage is in the store already").isEmpty();
  }

  @Test
  void aProbeOutWhenTheProcessStoppedIsLostAndTheSavedIntervalIsNeverBelowTheConfiguredOne() {
    QuotaGuard before = trippedAtHalfPastTen();
    before.admit(at("10:05:30"));
    before.probeSent(at("10:05:30"));

    QuotaGuard after = guard(1_000, 1, 99, 600);
    after.restore(before.saved(), List.of(new TokenWindow.Minute(at("10:00:00") / 60_000, 995)), at("10:05:40"));

    assertThat(after.snapshot(at("10:05:40")).probeIntervalMillis()).isEqualTo(600 * SECOND);
    assertThat(after.admit(at("10:05:40"))).as("no answer is awaited").isEqualTo(new Hold(at("10:15:30")));
    assertThat(after.admit(at("10:15:30"))).isEqualTo(PROBE);
  }

  @Test
  void aPolicyIsCheckedWhole() {
    assertThatThrownBy(() -> new QuotaGuard.Policy(1_000, Duration.ofHours(5), 0, Duration.ofSeconds(300)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("quota needs budget ≥ 0, a window of whole minutes ≥ 1, threshold 1..100 and a positive probe"
            + " interval: 1000, PT5H, 0, PT5M");
    assertThatThrownBy(() -> new QuotaGuard.Policy(1_000, Duration.ofSeconds(90), 99, Duration.ofSeconds(300)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
