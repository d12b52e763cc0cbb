package dev.sluice.limit;

import java.time.Duration;

/**
 * Thresholds of {@link RetreatController}. Ratios are shares of upstream answers that were 429 (0..1).
 *
 * @param enabled whether the backend retreats at all; default true
 * @param window outcomes older than this no longer count; default 60 s
 * @param enterRatio NORMAL → RETREAT at or above this 429 ratio; default 0.05
 * @param cutAgainRatio in RETREAT, cut again at or above this ratio; default 0.10
 * @param alertRatio above this ratio the cut is logged as an alert; default 0.20
 * @param recoverBelowRatio RETREAT → RECOVER once the ratio stays below this for {@code recoverAfter}; default 0.02
 * @param recoverAfter how long the ratio must stay low before recovering; default 120 s
 * @param floorRpm the rate never goes below this; default 5
 * @param minSample outcomes needed, at one rate, before that rate is judged, and acceptances needed to measure
 *     what the upstream takes while it refuses; default 20
 * @param minSampleSpan time spent at one rate before it is judged (so a burst does not pass for a rate); a rate
 *     drawing more than {@code alertRatio} of 429s is judged sooner, once its refusals have lasted 2 s (or this
 *     span, if shorter); default 20 s
 * @param recoveryStepRpm RPM added per step while recovering; default 2
 * @param evaluationInterval time between recovery steps; default 10 s
 */
public record RetreatPolicy(
    boolean enabled, Duration window, double enterRatio, double cutAgainRatio, double alertRatio,
    double recoverBelowRatio, Duration recoverAfter, int floorRpm, int minSample, Duration minSampleSpan,
    int recoveryStepRpm, Duration evaluationInterval) {

  public RetreatPolicy {
    requirePositive("window", window);
    requirePositive("recoverAfter", recoverAfter);
    requirePositive("minSampleSpan", minSampleSpan);
    requirePositive("evaluationInterval", evaluationInterval);
    if (!(0 <= recoverBelowRatio && recoverBelowRatio <= enterRatio && enterRatio <= cutAgainRatio
        && cutAgainRatio <= alertRatio && alertRatio <= 1)) {
      throw new IllegalArgumentException("retreat ratios must satisfy 0 <= recover_below <= enter <= cut_again"
          + " <= alert <= 1, got " + recoverBelowRatio + ", " + enterRatio + ", " + cutAgainRatio + ", " + alertRatio);
    }
    if (floorRpm < 1 || minSample < 1 || recoveryStepRpm < 1) {
      throw new IllegalArgumentException("floorRpm, minSample and recoveryStepRpm must be ≥ 1");
    }
  }

  private static void requirePositive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be positive: " + value);
    }
  }

  public static RetreatPolicy defaults() {
    return new RetreatPolicy(true, Duration.ofSeconds(60), 0.05, 0.10, 0.20, 0.02, Duration.ofSeconds(120), 5, 20,
        Duration.ofSeconds(20), 2, Duration.ofSeconds(10));
  }
}
