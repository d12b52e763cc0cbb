package dev.sluice.limit;

/**
 * Adaptive retreat: lowers a backend's rate when the upstream answers 429 to too many requests, and climbs back
 * in small steps once it stops.
 *
 * <p>States: {@code NORMAL} (configured rate) → {@code RETREAT} when the 429 ratio of a judged sample (below)
 * reaches {@link RetreatPolicy#enterRatio()}; in RETREAT another cut at {@link RetreatPolicy#cutAgainRatio()};
 * after the ratio stays below {@link RetreatPolicy#recoverBelowRatio()} for {@link RetreatPolicy#recoverAfter()},
 * {@code RECOVER} adds {@link RetreatPolicy#recoveryStepRpm()} every {@link RetreatPolicy#evaluationInterval()}
 * until the configured rate (then NORMAL); the first 429 at a step steps back, in RETREAT, to one step below what
 * the upstream accepted over the last window (never below the rate that stayed clean for {@code recoverAfter}):
 * an upstream's burst allowance can hide a few steps past its real limit, so the step that drew the 429 is not
 * the one to trust.
 *
 * <p>A rate is judged only by outcomes of requests <em>sent at that rate</em>: every rate change opens a new
 * epoch, dispatch stamps each request with the epoch current at send, and outcomes of other epochs are ignored;
 * a judgement also needs {@link RetreatPolicy#minSample()} outcomes over at least
 * {@link RetreatPolicy#minSampleSpan()}, and a measure of what the upstream accepts (below; see
 * {@code measured}). A sample whose 429 share is above {@link RetreatPolicy#alertRatio()} is judged as soon as
 * that measure exists, after {@link #EARLY_SPAN_NANOS} of refusals, if it is below the current rate: a rate that
 * far over the limit wastes attempts every second it is kept.
 *
 * <p>A cut sets the rate from what the upstream actually accepted: {@code clamp(0.95 × accepted_rpm, floor,
 * 0.95 × current_rpm)}, so one cut lands just under the upstream's real limit, and 429s still in flight from the
 * old rate cannot cut twice. {@code accepted_rpm} counts accepted answers of any epoch and of unshaped requests:
 * their rate since the first 429 at the current rate (answers of every rate keep arriving at the rate the upstream
 * accepts them, so its latency does not dilute the measure, and what it took before it refused does not inflate
 * it). When that is a trickle (under {@link #TRICKLE_SHARE} of the current rate), the upstream is one counting
 * over a trailing window that refuses everything until the window slides, and the measure is their count over the
 * last window, which is what such an upstream allows. So a cut never settles below 0.95 × what the upstream
 * accepts over its window, and a limit that drops is followed in one step.
 *
 * <p>Recovery needs evidence in proportion to the rate: half the answers the current rate sends over the time
 * judged, at most {@link RetreatPolicy#minSample()}, so a low rate climbs back as surely as a high one.
 *
 * <p>Thread-safe: every method is synchronized; calls are short and never block.
 */
public final class RetreatController {
  /** Told about every rate change; called under the controller's lock, so it must only record or log. */
  public interface Listener {
    void onRateChange(Cause cause, RetreatState state, int fromRpm, int toRpm, double ratio, boolean alert,
        boolean atFloor);
  }

  /** Why the rate changed. */
  public enum Cause {
    /** Retreat cut it, or stepped back after a 429 while recovering. */
    RETREAT,
    /** Recovery raised it one step. */
    RECOVERY,
    /** An operator changed the configured rate or the retreat settings through the admin API. */
    OPERATOR,
    /** The state and rate in force before a restart were taken up again. */
    RESTORED,
    /** The provider's {@code x-ratelimit-limit-requests} raised a configured rate that was lower. */
    PROVIDER
  }

  static final double CUT_FACTOR = 0.95;
  /**
   * Below this share of the current rate, what the upstream accepted while refusing is a trickle, and the cut goes
   * by what it accepted over the last window instead.
   */
  static final double TRICKLE_SHARE = 0.25;
  /**
   * How long the upstream must have been refusing before what it accepted meanwhile measures it (or less, if
   * {@link RetreatPolicy#minSampleSpan()} is shorter).
   */
  static final long EARLY_SPAN_NANOS = 2_000_000_000L;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final Listener listener;
  private RetreatPolicy policy;
  private int windowSeconds;
  /** Answers of the current epoch, by second since the epoch started. */
  private SecondCounts epochCounts;
  private RetreatState state = RetreatState.NORMAL;
  private int baseRpm;
  private int currentRpm;
  private long epoch;
  private long epochStartNanos;
  private long epochFirstAnswerNanos;
  /** Accepted answers per second of every epoch and of unshaped requests: what the upstream takes. */
  private final long originNanos;
  private SecondCounts allCounts;
  /** When the first accepted answer arrived, or -1. */
  private long firstAnswerNanos = -1;
  /** When the first 429 to a request sent at the current rate arrived, or -1. */
  private long epochFirstRefusalNanos = -1;
  private long lastRefusalNanos = -1;
  private long belowSinceNanos = -1;
  /** The rate RECOVER started from: it stayed clean for {@code recoverAfter}; a step back never goes below it. */
  private int cleanRpm;
  /**
   * The current rate comes from an early cut, measured over seconds, which may err either way: its first full
   * sample is judged strictly. At or above the recover threshold of 429s it cuts again from the longer measure, so
   * the rate cannot settle a little over the limit, between the recover and cut-again thresholds; below it,
   * recovery starts at once, so the rate does not sit a little under the limit for {@code recoverAfter}.
   */
  private boolean provisional;
  private long alerts;

  public RetreatController(RetreatPolicy policy, int baseRpm, long nowNanos, Listener listener) {
    this.policy = policy;
    this.listener = listener;
    this.baseRpm = baseRpm;
    this.currentRpm = baseRpm;
    this.cleanRpm = baseRpm;
    this.windowSeconds = (int) Math.max(1, policy.window().toSeconds());
    this.epochCounts = new SecondCounts(windowSeconds);
    this.originNanos = nowNanos;
    this.allCounts = new SecondCounts(windowSeconds);
    newEpoch(nowNanos);
  }

  /** The epoch to stamp on a request sent now. */
  public synchronized long epoch() {
    return epoch;
  }

  public synchronized int currentRpm() {
    return currentRpm;
  }

  /**
   * Learns from one upstream answer (not from connect failures or errors Sluice produced).
   *
   * @param sentInEpoch the epoch stamped on the request when it was sent
   * @param rateLimited whether the upstream answered 429
   * @return the rate to use from now on
   */
  public synchronized int onOutcome(long sentInEpoch, boolean rateLimited, long nowNanos) {
    recordTraffic(rateLimited, nowNanos);
    if (!policy.enabled()) {
      return currentRpm;
    }
    if (sentInEpoch == epoch) {
      record(nowNanos, rateLimited);
    }
    evaluate(nowNanos, sentInEpoch == epoch && rateLimited);
    return currentRpm;
  }

  /**
   * Learns from the answer to a request sent beyond the rate (queue-full passthrough): what it accepted counts as
   * accepted traffic, a 429 marks the upstream as refusing, but neither judges the rate.
   */
  public synchronized void onUnshapedOutcome(boolean rateLimited, long nowNanos) {
    recordTraffic(rateLimited, nowNanos);
  }

  /** What the upstream took or refused, whatever rate it was sent at. */
  private void recordTraffic(boolean rateLimited, long now) {
    if (rateLimited) {
      lastRefusalNanos = now;
    } else {
      recordAccepted(now);
    }
  }

  /**
   * Whether the upstream is known to be at its limit: the rate is retreating or recovering, or the upstream
   * refused a request within the last window. Traffic beyond the rate would only draw 429s.
   */
  public synchronized boolean atUpstreamLimit(long nowNanos) {
    return state != RetreatState.NORMAL || (lastRefusalNanos >= 0 && nowNanos - lastRefusalNanos < windowNanos());
  }

  /** Hot change of the configured rate by an operator: back to NORMAL at the new rate. */
  public synchronized int setBaseRpm(int newBaseRpm, long nowNanos) {
    return setBaseRpm(newBaseRpm, Cause.OPERATOR, nowNanos);
  }

  /** Change of the configured rate for {@code cause}: back to NORMAL at the new rate. */
  public synchronized int setBaseRpm(int newBaseRpm, Cause cause, long nowNanos) {
    baseRpm = newBaseRpm;
    state = RetreatState.NORMAL;
    belowSinceNanos = -1;
    change(cause, newBaseRpm, 0, false, nowNanos);
    return currentRpm;
  }

  /** The configured rate (before any retreat), requests per minute. */
  public synchronized int baseRpm() {
    return baseRpm;
  }

  /**
   * Hot change of the thresholds. The state and the rate in force stay (a retreat in progress stays cut, and is
   * judged from now on by the new thresholds), with three exceptions: a new epoch starts, so the current rate is
   * judged afresh on outcomes sent under the new policy; a new window length starts the per-second history over
   * (what the upstream accepted is measured again); a rate below a raised floor rises to it, and disabling retreat
   * returns to NORMAL at the configured rate, since nothing would ever climb back.
   *
   * @return the rate to use from now on
   */
  public synchronized int setPolicy(RetreatPolicy newPolicy, long nowNanos) {
    int newWindowSeconds = (int) Math.max(1, newPolicy.window().toSeconds());
    if (newWindowSeconds != windowSeconds) {
      windowSeconds = newWindowSeconds;
      epochCounts = new SecondCounts(newWindowSeconds);
      allCounts = new SecondCounts(newWindowSeconds);
      firstAnswerNanos = -1;
      lastRefusalNanos = -1;
    }
    policy = newPolicy;
    belowSinceNanos = -1;
    int rate = currentRpm;
    if (!newPolicy.enabled()) {
      state = RetreatState.NORMAL;
      rate = baseRpm;
    } else if (rate < newPolicy.floorRpm()) {
      rate = Math.min(baseRpm, newPolicy.floorRpm());
    }
    change(Cause.OPERATOR, rate, 0, false, nowNanos);
    return currentRpm;
  }

  /**
   * Takes up the state and rate in force before a restart: a retreat or recovery in progress goes on from its rate
   * (judged afresh), unless retreat is now disabled or the rate is not below the configured one, which wins.
   *
   * @return the rate to use from now on
   */
  public synchronized int restore(RetreatState savedState, int savedRpm, long nowNanos) {
    if (savedState == RetreatState.NORMAL || !policy.enabled() || savedRpm >= baseRpm) {
      return currentRpm;
    }
    state = savedState;
    belowSinceNanos = -1;
    cleanRpm = Math.max(policy.floorRpm(), savedRpm);
    change(Cause.RESTORED, cleanRpm, 0, false, nowNanos);
    return currentRpm;
  }

  public synchronized RetreatSnapshot snapshot(long nowNanos) {
    long[] totals = totals(nowNanos);
    long sample = totals[0] + totals[1];
    return new RetreatSnapshot(state, baseRpm, currentRpm, sample == 0 ? 0 : (double) totals[1] / sample, alerts);
  }

  private void evaluate(long now, boolean fresh429) {
    long[] totals = totals(now);
    long sample = totals[0] + totals[1];
    long span = spanNanos(now);
    double ratio = sample == 0 ? 0 : (double) totals[1] / sample;
    Refusing refusing = refusing(now);
    boolean measured = measured(refusing, now);
    double acceptedRpm = acceptedRpm(refusing, now);
    // Early only for a rate above what the upstream accepts, and only by a measure of something it accepted: 429s
    // at a rate it fully accepts, or from an upstream taking nothing (an outage), are another matter.
    boolean early = ratio > policy.alertRatio() && acceptedRpm > 0 && acceptedRpm < currentRpm;
    boolean fullSample = sample >= policy.minSample() && span >= policy.minSampleSpan().toNanos();
    boolean fullSpan = fullSample && measured;
    boolean judged = fullSpan || (sample >= policy.minSample() && measured && early);
    switch (state) {
      case NORMAL -> {
        if (judged && ratio >= policy.enterRatio()) {
          state = RetreatState.RETREAT;
          cut(ratio, acceptedRpm, !fullSpan, now);
        }
      }
      case RETREAT -> {
        if (judged && ratio >= policy.cutAgainRatio()) {
          cut(ratio, acceptedRpm, !fullSpan, now);
        } else if (provisional && fullSample && ratio < policy.recoverBelowRatio()) {
          // The seconds-long measure erred low: climb back at once rather than wait out recoverAfter.
          state = RetreatState.RECOVER;
          cleanRpm = currentRpm;
          stepUp(ratio, now);
        } else if (provisional && fullSpan) {
          cut(ratio, acceptedRpm, false, now);
        } else if (sample >= evidence(span) && ratio < policy.recoverBelowRatio()) {
          if (belowSinceNanos < 0) {
            belowSinceNanos = now;
          } else if (now - belowSinceNanos >= policy.recoverAfter().toNanos()) {
            state = RetreatState.RECOVER;
            cleanRpm = currentRpm;
            stepUp(ratio, now);
          }
        } else if (ratio >= policy.recoverBelowRatio()) {
          belowSinceNanos = -1;
        }
      }
      case RECOVER -> {
        if (judged && ratio >= policy.enterRatio()) {
          state = RetreatState.RETREAT;
          cut(ratio, acceptedRpm, !fullSpan, now);
        } else if (fresh429) {
          // The first 429 at a step: step back under what the upstream accepted, and wait before climbing again.
          int tookRpm = (int) Math.floor(acceptedRpmAllEpochs(now));
          int target = Math.max(cleanRpm, Math.min(currentRpm, tookRpm) - policy.recoveryStepRpm());
          state = RetreatState.RETREAT;
          belowSinceNanos = now;
          change(Cause.RETREAT, Math.max(policy.floorRpm(), target), ratio, false, now);
        } else if (span >= policy.evaluationInterval().toNanos()
            && sample >= evidence(policy.evaluationInterval().toNanos())) {
          stepUp(ratio, now);
        }
      }
    }
  }

  /**
   * Answers a judgement needs over {@code overNanos} (capped at the window): half of what the current rate sends
   * in that time, at least 1, at most the minimum sample.
   */
  private long evidence(long overNanos) {
    double expected = currentRpm * (double) Math.min(overNanos, windowNanos()) / (60.0 * NANOS_PER_SECOND);
    return Math.min(policy.minSample(), Math.max(1, (long) Math.ceil(expected / 2)));
  }

  /**
   * Whether {@code refusing} measures what the upstream takes. Two seconds of refusals (or the minimum span, if
   * shorter) with the minimum sample of acceptances in them, so one answer more or less cannot move the measure
   * 5 %; or with a mere trickle of them; or refusals over the whole minimum span, which at a low limit hold fewer
   * acceptances than the minimum sample. An upstream that has never accepted anything is measured only once it
   * has refused for a whole window: its acceptances may simply not have arrived yet (answers slower than the
   * minimum span), and a cut to the floor on that would be a collapse.
   */
  private boolean measured(Refusing refusing, long now) {
    if (firstAnswerNanos < 0) {
      return epochFirstRefusalNanos >= 0 && now - epochFirstRefusalNanos >= windowNanos();
    }
    long span = refusing.spanNanos();
    return span >= Math.min(EARLY_SPAN_NANOS, policy.minSampleSpan().toNanos())
        && (refusing.accepted() >= policy.minSample() || refusing.rpm() < TRICKLE_SHARE * currentRpm
        || span >= policy.minSampleSpan().toNanos());
  }

  /**
   * What the upstream accepts, per minute: its rate of acceptances since the first 429 at the current rate, or,
   * when that is a trickle, its acceptances over the last window.
   */
  private double acceptedRpm(Refusing refusing, long now) {
    if (refusing.rpm() < TRICKLE_SHARE * currentRpm) {
      // Next to nothing taken while refusing: an upstream counting over a trailing window that has had its fill.
      return Math.max(refusing.rpm(), acceptedPerWindow(now) * 60.0 / windowSeconds);
    }
    return refusing.rpm();
  }

  /** @param early whether the sample was judged before its full span: the new rate is then provisional */
  private void cut(double ratio, double acceptedRpm, boolean early, long now) {
    int target = (int) Math.floor(Math.min(CUT_FACTOR * acceptedRpm, CUT_FACTOR * currentRpm));
    int newRpm = Math.max(policy.floorRpm(), target);
    boolean alert = ratio > policy.alertRatio();
    if (alert) {
      alerts++;
    }
    belowSinceNanos = -1;
    change(Cause.RETREAT, newRpm, ratio, alert, now);
    provisional = early;
  }

  private void stepUp(double ratio, long now) {
    int newRpm = Math.min(baseRpm, currentRpm + policy.recoveryStepRpm());
    if (newRpm >= baseRpm) {
      state = RetreatState.NORMAL;
    }
    change(Cause.RECOVERY, newRpm, ratio, false, now);
  }

  private void change(Cause cause, int newRpm, double ratio, boolean alert, long now) {
    provisional = false;
    int from = currentRpm;
    currentRpm = newRpm;
    newEpoch(now);
    if (from != newRpm || alert) {
      listener.onRateChange(cause, state, from, newRpm, ratio, alert, newRpm == policy.floorRpm());
    }
  }

  private void newEpoch(long now) {
    epoch++;
    epochStartNanos = now;
    epochFirstAnswerNanos = -1;
    epochFirstRefusalNanos = -1;
    epochCounts.clear();
  }

  private void recordAccepted(long now) {
    if (firstAnswerNanos < 0) {
      firstAnswerNanos = now;
    }
    allCounts.add((now - originNanos) / NANOS_PER_SECOND, false);
  }

  private void record(long now, boolean rateLimited) {
    if (epochFirstAnswerNanos < 0) {
      epochFirstAnswerNanos = now;
    }
    if (rateLimited && epochFirstRefusalNanos < 0) {
      epochFirstRefusalNanos = now;
    }
    epochCounts.add((now - epochStartNanos) / NANOS_PER_SECOND, rateLimited);
  }

  /**
   * The first whole second (from the origin) of the time the upstream has been refusing at the current rate: from
   * its first 429 to a request sent at this rate, or from the first acceptance at all if that came later
   * (acceptances lag their sending by the upstream's latency, and a 429 often comes back at once); within the last
   * window. -1 if the upstream has not refused at this rate.
   */
  private long refusingFromSecond(long now) {
    if (epochFirstRefusalNanos < 0) {
      return -1;
    }
    long from = Math.max(epochFirstRefusalNanos, firstAnswerNanos) - originNanos;
    long nowSecond = (now - originNanos) / NANOS_PER_SECOND;
    return Math.max((from + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND, nowSecond - windowSeconds + 1);
  }

  /** Accepted answers (of every epoch and of unshaped requests) since the first 429 at the current rate. */
  private record Refusing(long accepted, long spanNanos) {
    double rpm() {
      return spanNanos <= 0 ? 0 : accepted * 60.0 * NANOS_PER_SECOND / spanNanos;
    }
  }

  /** What the upstream accepted over the seconds from {@link #refusingFromSecond}; empty when there are none. */
  private Refusing refusing(long now) {
    long fromSecond = refusingFromSecond(now);
    if (fromSecond < 0) {
      return new Refusing(0, 0);
    }
    long nowSecond = (now - originNanos) / NANOS_PER_SECOND;
    return new Refusing(allCounts.acceptedSince(fromSecond, nowSecond),
        Math.max(0, now - originNanos - fromSecond * NANOS_PER_SECOND));
  }

  /** Accepted answers, of every epoch, in the window ending now. */
  private long acceptedPerWindow(long now) {
    return allCounts.accepted((now - originNanos) / NANOS_PER_SECOND);
  }

  private long windowNanos() {
    return windowSeconds * NANOS_PER_SECOND;
  }

  /** Time covered by {@link #totals}. */
  private long spanNanos(long now) {
    return windowSpanNanos(now, epochFirstAnswerNanos, epochStartNanos);
  }

  /** Accepted answers per minute over the last window, whatever rate they were sent at. */
  private double acceptedRpmAllEpochs(long now) {
    long span = windowSpanNanos(now, firstAnswerNanos, originNanos);
    return span <= 0 ? 0 : acceptedPerWindow(now) * 60.0 * NANOS_PER_SECOND / span;
  }

  /**
   * Time a window of per-second counts covers: since the first answer counted, or, once that is longer, the
   * window's full seconds plus the current one's part ({@code secondsOrigin} is where those seconds start).
   */
  private long windowSpanNanos(long now, long firstAnswer, long secondsOrigin) {
    if (firstAnswer < 0) {
      return 0;
    }
    return Math.min(now - firstAnswer,
        (windowSeconds - 1) * NANOS_PER_SECOND + (now - secondsOrigin) % NANOS_PER_SECOND);
  }

  /** Accepted and rejected counts of the current epoch within the window. */
  private long[] totals(long now) {
    long second = (now - epochStartNanos) / NANOS_PER_SECOND;
    return new long[] {epochCounts.accepted(second), epochCounts.refused(second)};
  }

  @Override
  public synchronized String toString() {
    return "RetreatController[state=" + state + ", currentRpm=" + currentRpm + ", baseRpm=" + baseRpm + "]";
  }
}
