package dev.sluice.config;

import static dev.sluice.config.Bounds.MAX_RATE_RPM;
import static dev.sluice.config.Bounds.MAX_TIMEOUT_SECONDS;
import static dev.sluice.config.ConfigLoader.ENV_LOW_TIMEOUT;
import static dev.sluice.config.ConfigLoader.ENV_TIMEOUT;

import dev.sluice.limit.RetreatPolicy;
import java.time.Duration;
import java.util.Optional;

/**
 * Reads the file's {@code defaults} section, with {@code retreat} below it, and lays the environment over the
 * timeouts. Retreat percentages keep their order: each threshold's lower bound is the one before it.
 */
final class DefaultsReader {
  /** Shortest retreat window, in seconds. */
  private static final int MIN_WINDOW_SECONDS = 10;

  private DefaultsReader() {}

  static DefaultsConfig read(Optional<Section> s, EnvironmentLayer env) {
    Optional<Integer> fileTimeout = s.flatMap(DefaultsReader::timeoutSeconds);
    Optional<Integer> fileLowTimeout = s.flatMap(DefaultsReader::lowPriorityTimeoutSeconds);
    RetreatPolicy retreat = s.flatMap(x -> x.section("retreat")).map(r -> retreat(r, RetreatPolicy.defaults()))
        .orElse(RetreatPolicy.defaults());
    s.ifPresent(Section::finish);
    int timeout = env.intValue(ENV_TIMEOUT, 1, MAX_TIMEOUT_SECONDS).or(() -> fileTimeout)
        .orElse(DefaultsConfig.DEFAULT_TIMEOUT_SECONDS);
    int lowTimeout = env.intValue(ENV_LOW_TIMEOUT, 1, MAX_TIMEOUT_SECONDS).or(() -> fileLowTimeout)
        .orElse(DefaultsConfig.DEFAULT_LOW_PRIORITY_TIMEOUT_SECONDS);
    return new DefaultsConfig(timeout, lowTimeout, retreat);
  }

  static Optional<Integer> timeoutSeconds(Section s) {
    return s.intValue("timeout_seconds", 1, MAX_TIMEOUT_SECONDS);
  }

  static Optional<Integer> lowPriorityTimeoutSeconds(Section s) {
    return s.intValue("low_priority_timeout_seconds", 1, MAX_TIMEOUT_SECONDS);
  }

  /** A {@code retreat} section; the keys it leaves out keep their values in {@code d}. */
  static RetreatPolicy retreat(Section s, RetreatPolicy d) {
    boolean enabled = s.bool("enabled").orElse(d.enabled());
    int window = s.intValue("window_seconds", MIN_WINDOW_SECONDS, MAX_TIMEOUT_SECONDS).orElse((int) d.window().toSeconds());
    int recoverBelow = s.intValue("recover_below_percent", 0, 100).orElse(percent(d.recoverBelowRatio()));
    int enter = s.intValue("enter_percent", recoverBelow, 100).orElse(Math.max(recoverBelow, percent(d.enterRatio())));
    int cutAgain = s.intValue("cut_again_percent", enter, 100).orElse(Math.max(enter, percent(d.cutAgainRatio())));
    int alert = s.intValue("alert_percent", cutAgain, 100).orElse(Math.max(cutAgain, percent(d.alertRatio())));
    int recoverAfter = s.intValue("recover_after_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) d.recoverAfter().toSeconds());
    int floor = s.intValue("floor_rpm", 1, MAX_RATE_RPM).orElse(d.floorRpm());
    int minSample = s.intValue("min_sample", 1, 100_000).orElse(d.minSample());
    int minSampleSeconds = s.intValue("min_sample_seconds", 1, window).orElse(
        (int) Math.min(window, d.minSampleSpan().toSeconds()));
    int step = s.intValue("recovery_step_rpm", 1, MAX_RATE_RPM).orElse(d.recoveryStepRpm());
    int interval = s.intValue("evaluation_interval_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) d.evaluationInterval().toSeconds());
    s.finish();
    return new RetreatPolicy(enabled, Duration.ofSeconds(window), enter / 100.0, cutAgain / 100.0, alert / 100.0,
        recoverBelow / 100.0, Duration.ofSeconds(recoverAfter), floor, minSample, Duration.ofSeconds(minSampleSeconds),
        step, Duration.ofSeconds(interval));
  }

  /**
   * A {@code retreat} section posted as a change to {@code current}: the keys it leaves out keep their current
   * values, and a posted value must keep the order {@code recover_below_percent <= enter_percent <=
   * cut_again_percent <= alert_percent} and {@code min_sample_seconds <= window_seconds} with the others as they
   * will be (posted, else current), or it is refused naming its legal range. Unlike {@link #retreat}, nothing not
   * posted moves to make room.
   */
  static RetreatPolicy retreatChange(Section s, RetreatPolicy current) {
    boolean enabled = s.bool("enabled").orElse(current.enabled());
    Optional<Integer> window = s.intValue("window_seconds", MIN_WINDOW_SECONDS, MAX_TIMEOUT_SECONDS);
    Optional<Integer> recoverBelow = s.intValue("recover_below_percent", 0, 100);
    Optional<Integer> enter = s.intValue("enter_percent", 0, 100);
    Optional<Integer> cutAgain = s.intValue("cut_again_percent", 0, 100);
    Optional<Integer> alert = s.intValue("alert_percent", 0, 100);
    int recoverAfter = s.intValue("recover_after_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) current.recoverAfter().toSeconds());
    int floor = s.intValue("floor_rpm", 1, MAX_RATE_RPM).orElse(current.floorRpm());
    int minSample = s.intValue("min_sample", 1, 100_000).orElse(current.minSample());
    Optional<Integer> minSampleSeconds = s.intValue("min_sample_seconds", 1, MAX_TIMEOUT_SECONDS);
    int step = s.intValue("recovery_step_rpm", 1, MAX_RATE_RPM).orElse(current.recoveryStepRpm());
    int interval = s.intValue("evaluation_interval_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) current.evaluationInterval().toSeconds());
    s.finish();

    int windowNow = window.orElse((int) current.window().toSeconds());
    int recoverNow = recoverBelow.orElse(percent(current.recoverBelowRatio()));
    int enterNow = enter.orElse(percent(current.enterRatio()));
    int cutAgainNow = cutAgain.orElse(percent(current.cutAgainRatio()));
    int alertNow = alert.orElse(percent(current.alertRatio()));
    int minSampleSecondsNow = minSampleSeconds.orElse((int) current.minSampleSpan().toSeconds());
    inOrder(s, "recover_below_percent", recoverBelow, 0, enterNow);
    inOrder(s, "enter_percent", enter, recoverNow, cutAgainNow);
    inOrder(s, "cut_again_percent", cutAgain, enterNow, alertNow);
    inOrder(s, "alert_percent", alert, cutAgainNow, 100);
    inOrder(s, "window_seconds", window, Math.max(MIN_WINDOW_SECONDS, minSampleSecondsNow), MAX_TIMEOUT_SECONDS);
    inOrder(s, "min_sample_seconds", minSampleSeconds, 1, windowNow);
    return new RetreatPolicy(enabled, Duration.ofSeconds(windowNow), enterNow / 100.0, cutAgainNow / 100.0,
        alertNow / 100.0, recoverNow / 100.0, Duration.ofSeconds(recoverAfter), floor, minSample,
        Duration.ofSeconds(minSampleSecondsNow), step, Duration.ofSeconds(interval));
  }

  private static void inOrder(Section s, String key, Optional<Integer> posted, int min, int max) {
    posted.ifPresent(value -> Bounds.check(s.path(key), value, min, max));
  }

  static int percent(double ratio) {
    return (int) Math.round(ratio * 100);
  }
}
