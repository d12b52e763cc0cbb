package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import org.junit.jupiter.api.Test;

class RetreatControllerTest {
  private final ManualClock clock = new ManualClock();
  private final List<String> changes = new ArrayList<>();
  private final List<RetreatController.Cause> causes = new ArrayList<>();
  private final RetreatController.Listener listener = (cause, state, from, to, ratio, alert, atFloor) -> {
    causes.add(cause);
    changes.add(state + " " + from + "->" + to + (alert ? " alert" : "") + (atFloor ? " floor" : ""));
  };

  private RetreatController controller(int baseRpm) {
    return controller(RetreatPolicy.defaults(), baseRpm);
  }

  private RetreatController controller(RetreatPolicy policy, int baseRpm) {
    return new RetreatController(policy, baseRpm, clock.nanoTime(), listener);
  }

  /** Answers sent and received now at the current rate. */
  private void outcomes(RetreatController controller, int accepted, int rejected) {
    long epoch = controller.epoch();
    for (int i = 0; i < accepted; i++) {
      controller.onOutcome(epoch, false, clock.nanoTime());
    }
    for (int i = 0; i < rejected; i++) {
      controller.onOutcome(epoch, true, clock.nanoTime());
    }
  }

  /** {@code seconds} times: one second passes, then that second's answers arrive. */
  private void seconds(RetreatController controller, int seconds, int acceptedPerSecond, int rejectedPerSecond) {
    for (int s = 0; s < seconds; s++) {
      clock.advance(Duration.ofSeconds(1));
      outcomes(controller, acceptedPerSecond, rejectedPerSecond);
    }
  }

  private RetreatState state(RetreatController controller) {
    return controller.snapshot(clock.nanoTime()).state();
  }

  /**
   * At 900 RPM against an upstream accepting 600: 10 accepted and 5 refused a second. A third refused is far
   * above the alert ratio, so the rate is judged two seconds after the refusals began, not after 20.
   */
  private RetreatController cutFrom900() {
    RetreatController controller = controller(900);
    outcomes(controller, 10, 5);
    seconds(controller, 2, 10, 5);
    return controller;
  }

  /** At 900 RPM, 17 % refused: not far enough over the limit to judge early, so cut after 20 s, to 572. */
  private RetreatController cutAfterTheFullSpan() {
    RetreatController controller = controller(900);
    outcomes(controller, 10, 2);
    seconds(controller, 20, 10, 2);
    assertThat(controller.currentRpm()).isEqualTo(572);
    return controller;
  }

  @Test
  void aRateIsNotJudgedBeforeTheMinimumSampleAndSpan() {
    RetreatController few = controller(900);
    seconds(few, 30, 0, 0);
    outcomes(few, 0, 19);
    assertThat(few.currentRpm()).isEqualTo(900);

    RetreatController burst = controller(900);
    seconds(burst, 19, 0, 10);
    assertThat(burst.currentRpm()).isEqualTo(900);
    assertThat(state(burst)).isEqualTo(RetreatState.NORMAL);
  }

  @Test
  void aRateFarOverTheLimitIsCutTwoSecondsAfterTheRefusalsBegin() {
    RetreatController controller = controller(900);
    outcomes(controller, 10, 5);
    seconds(controller, 1, 10, 5);
    clock.advance(Duration.ofMillis(999));
    outcomes(controller, 0, 5);
    assertThat(controller.currentRpm()).as("1.999 s of refusals").isEqualTo(900);

    clock.advance(Duration.ofMillis(1));
    outcomes(controller, 1, 0);

    // 21 accepted over the 2 s since the refusals began is 630 RPM; 0.95 x 630 = 598.5.
    assertThat(controller.currentRpm()).isEqualTo(598);
    assertThat(changes).containsExactly("RETREAT 900->598 alert");
  }

  @Test
  void aCutLandsJustUnderWhatTheUpstreamAccepted() {
    RetreatController controller = cutFrom900();

    // 21 accepted over the 2 s since the refusals began is 630 RPM; 0.95 x 630 = 598.5.
    assertThat(controller.currentRpm()).isEqualTo(598);
    assertThat(state(controller)).isEqualTo(RetreatState.RETREAT);
    assertThat(changes).containsExactly("RETREAT 900->598 alert");
  }

  @Test
  void aRatioUnderTheAlertIsJudgedOnlyAfterTheMinimumSpan() {
    RetreatController controller = controller(900);
    outcomes(controller, 10, 2);
    seconds(controller, 19, 10, 2);
    assertThat(controller.currentRpm()).isEqualTo(900);

    clock.advance(Duration.ofSeconds(1));
    outcomes(controller, 1, 0);

    // 17 % refused; 201 accepted over 20 s is 603 RPM; 0.95 x 603 = 572.85.
    assertThat(controller.currentRpm()).isEqualTo(572);
    assertThat(changes).containsExactly("RETREAT 900->572");
  }

  @Test
  void aCutNeverExceedsNinetyFivePercentOfTheCurrentRate() {
    RetreatController controller = controller(900);
    outcomes(controller, 19, 1);
    seconds(controller, 19, 19, 1);
    clock.advance(Duration.ofSeconds(1));
    outcomes(controller, 0, 1);

    // 5.2 % refused; 380 accepted over 20 s is 1140 RPM, so the cap 0.95 x 900 = 855 applies.
    assertThat(controller.currentRpm()).isEqualTo(855);
    assertThat(changes).containsExactly("RETREAT 900->855");
  }

  @Test
  void aRatioJustBelowTheEnterThresholdDoesNotCut() {
    RetreatController controller = controller(900);
    seconds(controller, 60, 20, 1);

    assertThat(controller.currentRpm()).isEqualTo(900);
    assertThat(changes).isEmpty();
  }

  @Test
  void refusalsOfRequestsSentAtTheOldRateCannotCutAgain() {
    RetreatController controller = cutAfterTheFullSpan();
    long oldEpoch = controller.epoch() - 1;

    for (int s = 0; s < 30; s++) {
      clock.advance(Duration.ofSeconds(1));
      for (int i = 0; i < 5; i++) {
        controller.onOutcome(oldEpoch, true, clock.nanoTime());
      }
      outcomes(controller, 9, 0);
    }

    assertThat(controller.currentRpm()).isEqualTo(572);
    assertThat(changes).hasSize(1);
    assertThat(controller.snapshot(clock.nanoTime()).ratio429()).isZero();
  }

  @Test
  void refusalsAtARateTheUpstreamFullyAcceptsAreNotJudgedEarly() {
    RetreatController controller = controller(600);
    outcomes(controller, 10, 4);
    seconds(controller, 19, 10, 4);
    assertThat(controller.currentRpm()).as("600 accepted a minute is the current rate").isEqualTo(600);

    seconds(controller, 1, 10, 4);

    assertThat(controller.currentRpm()).isEqualTo(570);
  }

  @Test
  void anUpstreamRefusingEverythingUntilItsWindowSlidesIsCutToWhatItAcceptedOverTheWindow() {
    RetreatController controller = controller(900);
    // A provider counting the last 60 s: it takes 600 in the first 40 s, then refuses everything.
    seconds(controller, 40, 15, 0);
    seconds(controller, 3, 0, 15);

    // The refusals began 3 s ago and nothing was accepted since, but 600 were over the window: 0.95 x 600.
    assertThat(controller.currentRpm()).isEqualTo(570);
    assertThat(changes).containsExactly("RETREAT 900->570");
  }

  @Test
  void aLowRateClimbsBackWithoutWaitingForAFullSampleAtEachStep() {
    RetreatController controller = controller(40);
    outcomes(controller, 1, 0);
    for (int s = 1; s <= 10; s++) {
      clock.advance(Duration.ofSeconds(1));
      outcomes(controller, s == 6 ? 1 : 0, 2);
    }
    // Judged at the 20th answer, 9 s in: 1 accepted over the 8 s since the refusals began is 7.5 RPM, cut to 7.
    assertThat(controller.currentRpm()).isEqualTo(7);

    // The upstream now accepts whatever the rate sends: 7 RPM is an answer every 8.6 s.
    double credit = 0;
    int s = 0;
    for (; s < 600 && state(controller) != RetreatState.NORMAL; s++) {
      clock.advance(Duration.ofSeconds(1));
      credit += controller.currentRpm() / 60.0;
      int answers = (int) credit;
      credit -= answers;
      outcomes(controller, answers, 0);
    }

    // Two minutes clean, then +2 RPM every 10 to 20 s: 17 steps. At 20 answers a step (a minute or more at these
    // rates) it would take over a quarter of an hour.
    assertThat(state(controller)).isEqualTo(RetreatState.NORMAL);
    assertThat(controller.currentRpm()).isEqualTo(40);
    assertThat(s).isBetween(120 + 17 * 10, 120 + 17 * 20);
  }

  @Test
  void slowAnswersAtAColdStartAreWaitedForNotTakenForNothingAccepted() {
    RetreatController controller = controller(900);
    // Answers take 25 s: for the first 25 s only the 429s, which come back at once, arrive.
    seconds(controller, 25, 0, 5);
    assertThat(controller.currentRpm()).isEqualTo(900);

    seconds(controller, 3, 10, 5);

    // Measured from the first acceptance: 21 over its first 2 s is 630 RPM, cut to 598.
    assertThat(controller.currentRpm()).isEqualTo(598);
  }

  @Test
  void aLimitBetweenATrickleAndTheMinimumSampleIsStillFound() {
    // 40 RPM in front of a provider taking 15: fewer than 20 acceptances fit in the window's refusals.
    RetreatController controller = controller(40);
    Minutes minutes = simulate(controller, 8, minute -> 15);

    assertThat(controller.currentRpm()).isBetween(12, 15);
    for (int minute = 2; minute < 8; minute++) {
      assertThat(minutes.accepted()[minute]).as("goodput in minute %d", minute).isGreaterThanOrEqualTo(12);
    }
  }

  @Test
  void acceptedUnshapedRequestsCountInWhatTheUpstreamTakes() {
    RetreatController controller = controller(900);
    for (int s = 0; s < 2; s++) {
      outcomes(controller, 5, 5);
      for (int i = 0; i < 5; i++) {
        controller.onUnshapedOutcome(false, clock.nanoTime());
      }
      clock.advance(Duration.ofSeconds(1));
    }
    outcomes(controller, 1, 0);

    // Half the shaped requests refused, but with the passthrough the upstream took 10 a second (21 in 2 s, 630
    // RPM): the cut goes by that, not by the 165 RPM the shaped requests got.
    assertThat(controller.currentRpm()).isEqualTo(598);
  }

  @Test
  void answersToUnshapedRequestsCountAsAcceptedButJudgeNoRate() {
    RetreatController controller = controller(900);
    assertThat(controller.atUpstreamLimit(clock.nanoTime())).isFalse();
    for (int s = 0; s < 30; s++) {
      clock.advance(Duration.ofSeconds(1));
      for (int i = 0; i < 10; i++) {
        controller.onUnshapedOutcome(true, clock.nanoTime());
      }
      outcomes(controller, 10, 0);
    }
    assertThat(controller.currentRpm()).isEqualTo(900);
    assertThat(controller.atUpstreamLimit(clock.nanoTime())).as("refused within the window").isTrue();

    clock.advance(Duration.ofSeconds(60));
    assertThat(controller.atUpstreamLimit(clock.nanoTime())).isFalse();
  }

  @Test
  void theUpstreamIsAtItsLimitWhileTheRateRetreats() {
    RetreatController controller = cutAfterTheFullSpan();
    seconds(controller, 90, 9, 0);

    assertThat(state(controller)).isEqualTo(RetreatState.RETREAT);
    assertThat(controller.atUpstreamLimit(clock.nanoTime())).isTrue();
  }

  @Test
  void inRetreatACutAgainNeedsTheCutAgainRatio() {
    // A cut judged over the full span: 17 % refused for 20 s, cut to 572.
    RetreatController controller = controller(900);
    outcomes(controller, 10, 2);
    seconds(controller, 20, 10, 2);
    assertThat(controller.currentRpm()).isEqualTo(572);
    seconds(controller, 40, 19, 1);
    assertThat(controller.currentRpm()).as("5 %% refused").isEqualTo(572);

    RetreatController again = cutFrom900();
    outcomes(again, 8, 1);
    seconds(again, 19, 8, 1);
    clock.advance(Duration.ofSeconds(1));
    outcomes(again, 0, 1);

    // 11.6 % refused at 598. From the first answer at 598 on, 170 accepted answers arrived in 20 s (the 10 of the
    // old rate still arriving in that second count: the upstream accepted them): 510 RPM, cut to 484.
    assertThat(again.currentRpm()).isEqualTo(484);
    assertThat(changes).last().isEqualTo("RETREAT 598->484");
  }

  @Test
  void anEarlyCutWhoseFirstFullSampleIsCleanStartsRecoveringAtOnce() {
    RetreatController controller = cutFrom900();
    long cutAt = clock.nanoTime();

    while (state(controller) == RetreatState.RETREAT) {
      seconds(controller, 1, 9, 0);
    }

    // 20 s of answers at 598 (the first a second after the cut), not the 120 s a full-span cut waits.
    assertThat(clock.nanoTime() - cutAt).isEqualTo(Duration.ofSeconds(21).toNanos());
    assertThat(state(controller)).isEqualTo(RetreatState.RECOVER);
    assertThat(controller.currentRpm()).isEqualTo(600);
  }

  @Test
  void theFirstFullSampleAfterAnEarlyCutIsJudgedStrictly() {
    // 25 accepted in the two seconds of refusals look like 750 RPM: the early cut lands at 712, over the real 600.
    RetreatController controller = controller(900);
    outcomes(controller, 12, 5);
    seconds(controller, 2, 12, 5);
    assertThat(controller.currentRpm()).isEqualTo(712);

    // At 712 the upstream takes 10 a second and refuses 0.5: under the cut-again threshold, over the recover one.
    for (int s = 0; s < 20; s++) {
      clock.advance(Duration.ofSeconds(1));
      outcomes(controller, 10, s % 2);
    }
    assertThat(controller.currentRpm()).as("19 s of answers at 712").isEqualTo(712);
    clock.advance(Duration.ofSeconds(1));
    outcomes(controller, 1, 0);

    // Judged over its full span (4.8 % refused): 191 accepted in the 19 s since the first 429 at 712 is 603 RPM,
    // cut to 573.
    assertThat(controller.currentRpm()).isEqualTo(573);
    assertThat(changes).containsExactly("RETREAT 900->712 alert", "RETREAT 712->573");

    // That cut was made over a full span: its rate is judged by the usual thresholds again.
    seconds(controller, 40, 19, 1);
    assertThat(controller.currentRpm()).isEqualTo(573);
  }

  @Test
  void anUpstreamThatNeverAcceptedIsCutToTheFloorOnlyAfterAWholeWindowOfRefusals() {
    RetreatController controller = controller(100);
    outcomes(controller, 0, 2);
    seconds(controller, 59, 0, 2);
    // Its acceptances may simply not have arrived yet: answers slower than the minimum span.
    assertThat(controller.currentRpm()).isEqualTo(100);

    seconds(controller, 1, 0, 2);

    assertThat(controller.currentRpm()).isEqualTo(5);
    assertThat(changes).containsExactly("RETREAT 100->5 alert floor");
    assertThat(controller.snapshot(clock.nanoTime()).alerts()).isEqualTo(1);
  }

  @Test
  void recoveryClimbsInSmallStepsAfterTheRatioStaysLow() {
    RetreatController controller = cutAfterTheFullSpan();
    long cutAt = clock.nanoTime();

    while (state(controller) == RetreatState.RETREAT) {
      seconds(controller, 1, 10, 0);
    }

    long stayedLow = clock.nanoTime() - cutAt;
    assertThat(stayedLow).isBetween(Duration.ofSeconds(120).toNanos(), Duration.ofSeconds(123).toNanos());
    assertThat(state(controller)).isEqualTo(RetreatState.RECOVER);
    assertThat(controller.currentRpm()).isEqualTo(574);
    // Each step is judged over 10 s of answers at its rate; the first arrives a second after the step.
    seconds(controller, 10, 10, 0);
    assertThat(controller.currentRpm()).isEqualTo(574);
    seconds(controller, 1, 10, 0);
    assertThat(controller.currentRpm()).isEqualTo(576);
    seconds(controller, 11, 10, 0);
    assertThat(controller.currentRpm()).isEqualTo(578);
  }

  @Test
  void theFirstRefusalAtARecoveryStepStepsBackUnderWhatTheUpstreamAccepted() {
    RetreatController controller = cutAfterTheFullSpan();
    while (state(controller) != RetreatState.RECOVER) {
      seconds(controller, 1, 10, 0);
    }
    seconds(controller, 22, 11, 0);
    assertThat(controller.currentRpm()).isEqualTo(578);

    clock.advance(Duration.ofSeconds(1));
    outcomes(controller, 5, 1);

    // The upstream accepted more than 578 a minute over the last window: one step back from the current rate.
    assertThat(controller.currentRpm()).isEqualTo(576);
    assertThat(state(controller)).isEqualTo(RetreatState.RETREAT);
  }

  @Test
  void aStepBackNeverGoesBelowTheRateThatStayedClean() {
    RetreatController controller = cutAfterTheFullSpan();
    while (state(controller) != RetreatState.RECOVER) {
      seconds(controller, 1, 10, 0);
    }
    seconds(controller, 60, 1, 0);

    clock.advance(Duration.ofSeconds(1));
    outcomes(controller, 0, 1);

    // Only 1 accepted a second over the last minute, but 572 stayed clean for two minutes.
    assertThat(controller.currentRpm()).isEqualTo(572);
  }

  @Test
  void recoveryEndsInNormalAtTheConfiguredRate() {
    RetreatPolicy policy = RetreatPolicy.defaults();
    policy = new RetreatPolicy(true, policy.window(), policy.enterRatio(), policy.cutAgainRatio(),
        policy.alertRatio(), policy.recoverBelowRatio(), policy.recoverAfter(), policy.floorRpm(),
        policy.minSample(), policy.minSampleSpan(), 200, policy.evaluationInterval());
    RetreatController controller = controller(policy, 900);
    outcomes(controller, 10, 5);
    seconds(controller, 20, 10, 5);
    assertThat(controller.currentRpm()).isLessThan(900);

    seconds(controller, 200, 10, 0);

    assertThat(controller.currentRpm()).isEqualTo(900);
    assertThat(state(controller)).isEqualTo(RetreatState.NORMAL);
  }

  @Test
  void disabledRetreatNeverChangesTheRate() {
    RetreatPolicy d = RetreatPolicy.defaults();
    RetreatController controller = controller(new RetreatPolicy(false, d.window(), d.enterRatio(),
        d.cutAgainRatio(), d.alertRatio(), d.recoverBelowRatio(), d.recoverAfter(), d.floorRpm(), d.minSample(),
        d.minSampleSpan(), d.recoveryStepRpm(), d.evaluationInterval()), 900);

    seconds(controller, 120, 1, 10);

    assertThat(controller.currentRpm()).isEqualTo(900);
    assertThat(changes).isEmpty();
  }

  @Test
  void aNewConfiguredRateReturnsToNormalInANewEpoch() {
    RetreatController controller = cutAfterTheFullSpan();
    long epoch = controller.epoch();

    assertThat(controller.setBaseRpm(300, clock.nanoTime())).isEqualTo(300);

    assertThat(state(controller)).isEqualTo(RetreatState.NORMAL);
    assertThat(controller.epoch()).isGreaterThan(epoch);
    assertThat(controller.snapshot(clock.nanoTime()).baseRpm()).isEqualTo(300);
    assertThat(causes).containsExactly(RetreatController.Cause.RETREAT, RetreatController.Cause.OPERATOR);
    assertThat(changes).last().isEqualTo("NORMAL 572->300");
  }

  /** Accepted and refused requests per minute of {@link #simulate}. */
  private record Minutes(int[] accepted, int[] refused) {}

  /**
   * Sends at the controller's rate, in 100 ms steps, to an upstream token bucket (burst 10) whose limit per minute
   * {@code limitAt} gives, answers arriving 2 s after sending, so old-rate 429s keep arriving after each change.
   */
  private Minutes simulate(RetreatController controller, int minutes, java.util.function.IntUnaryOperator limitAt) {
    record InFlight(long epoch, boolean refused, long answerAt) {}
    Queue<InFlight> inFlight = new ArrayDeque<>();
    long step = Duration.ofMillis(100).toNanos();
    double upstreamTokens = 10;
    double sendCredit = 0;
    Minutes result = new Minutes(new int[minutes], new int[minutes]);
    for (long tick = 0; tick < minutes * 600L; tick++) {
      clock.advance(Duration.ofMillis(100));
      long now = clock.nanoTime();
      int minute = (int) (tick / 600);
      upstreamTokens = Math.min(10, upstreamTokens + limitAt.applyAsInt(minute) / 600.0);
      sendCredit += controller.currentRpm() / 600.0;
      while (sendCredit >= 1) {
        sendCredit -= 1;
        boolean refused = upstreamTokens < 1;
        if (refused) {
          result.refused()[minute]++;
        } else {
          upstreamTokens -= 1;
          result.accepted()[minute]++;
        }
        inFlight.add(new InFlight(controller.epoch(), refused, now + 20 * step));
      }
      while (!inFlight.isEmpty() && inFlight.peek().answerAt() <= now) {
        InFlight answer = inFlight.poll();
        controller.onOutcome(answer.epoch(), answer.refused(), now);
      }
    }
    return result;
  }

  /**
   * The scenario that collapsed the earlier sidecar: configured at 900 RPM in front of an upstream that secretly
   * allows 600. Over 30 minutes, after the first, every minute must deliver at least 95 % of the hidden limit with
   * at most 2 % of requests refused.
   */
  @Test
  void aHiddenLimitIsFoundInOneStepAndHeldWithoutCollapse() {
    Minutes minutes = simulate(controller(900), 30, minute -> 600);

    for (int minute = 1; minute < 30; minute++) {
      int attempts = minutes.accepted()[minute] + minutes.refused()[minute];
      assertThat(minutes.accepted()[minute]).as("goodput in minute %d", minute).isGreaterThanOrEqualTo(570);
      assertThat(minutes.refused()[minute] / (double) attempts).as("429 share in minute %d", minute)
          .isLessThanOrEqualTo(0.02);
    }
  }

  /**
   * The upstream's limit halves after five minutes. The cut goes by what it accepted since it began refusing at
   * the current rate, not over the last window (which still remembers the old limit): the rate follows it down
   * within seconds, and every later minute delivers at least 95 % of the new limit with at most 2 % refused.
   */
  @Test
  void aLimitThatDropsIsFollowedDownWithinTwoMinutes() {
    Minutes minutes = simulate(controller(900), 15, minute -> minute < 5 ? 600 : 300);

    int refusedAfterDrop = minutes.refused()[5] + minutes.refused()[6];
    assertThat(refusedAfterDrop).as("429s in the two minutes after the drop").isLessThan(100);
    for (int minute = 6; minute < 15; minute++) {
      int attempts = minutes.accepted()[minute] + minutes.refused()[minute];
      assertThat(minutes.accepted()[minute]).as("goodput in minute %d", minute).isGreaterThanOrEqualTo(285);
      assertThat(minutes.refused()[minute] / (double) attempts).as("429 share in minute %d", minute)
          .isLessThanOrEqualTo(0.02);
    }
  }

  @Test
  void aNewPolicyKeepsARetreatInProgressAndJudgesItAfresh() {
    RetreatController controller = cutAfterTheFullSpan();
    long epoch = controller.epoch();
    RetreatPolicy d = RetreatPolicy.defaults();

    int rate = controller.setPolicy(new RetreatPolicy(true, d.window(), 0.05, 0.10, 0.20, 0.02, d.recoverAfter(),
        d.floorRpm(), d.minSample(), d.minSampleSpan(), 10, d.evaluationInterval()), clock.nanoTime());

    assertThat(rate).isEqualTo(572);
    assertThat(state(controller)).isEqualTo(RetreatState.RETREAT);
    assertThat(controller.epoch()).isGreaterThan(epoch);
  }

  @Test
  void disablingRetreatReturnsToTheConfiguredRate() {
    RetreatController controller = cutAfterTheFullSpan();
    RetreatPolicy d = RetreatPolicy.defaults();

    int rate = controller.setPolicy(new RetreatPolicy(false, d.window(), 0.05, 0.10, 0.20, 0.02, d.recoverAfter(),
        d.floorRpm(), d.minSample(), d.minSampleSpan(), d.recoveryStepRpm(), d.evaluationInterval()),
        clock.nanoTime());

    assertThat(rate).isEqualTo(900);
    assertThat(state(controller)).isEqualTo(RetreatState.NORMAL);
    seconds(controller, 30, 10, 5);
    assertThat(controller.currentRpm()).isEqualTo(900);
  }

  @Test
  void aRaisedFloorLiftsARateBelowIt() {
    RetreatController controller = cutAfterTheFullSpan();
    RetreatPolicy d = RetreatPolicy.defaults();

    int rate = controller.setPolicy(new RetreatPolicy(true, Duration.ofSeconds(30), 0.05, 0.10, 0.20, 0.02,
        d.recoverAfter(), 600, d.minSample(), d.minSampleSpan(), d.recoveryStepRpm(), d.evaluationInterval()),
        clock.nanoTime());

    assertThat(rate).isEqualTo(600);
    assertThat(changes).last().isEqualTo("RETREAT 572->600 floor");
    assertThat(causes).last().isEqualTo(RetreatController.Cause.OPERATOR);
  }

  @Test
  void recoveryStepsAreToldAsRecovery() {
    RetreatController controller = cutAfterTheFullSpan();

    seconds(controller, 200, 9, 0);

    assertThat(causes).first().isEqualTo(RetreatController.Cause.RETREAT);
    assertThat(causes).contains(RetreatController.Cause.RECOVERY).doesNotContain(RetreatController.Cause.OPERATOR);
  }
}
