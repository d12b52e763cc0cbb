package dev.sluice.limit;

/**
 * Adaptive retreat: lowers a backend's rate when the upstream answers 429 to too many requests, and climbs back
 * in small steps once it stops.
 *
 * <p>States: {@code NORMAL} (configured rate) → {@code RETREAT} when the 429 ratio reaches
 * {@link RetreatPolicy#enterRatio()}; in RETREAT another cut at {@link RetreatPolicy#cutAgainRatio()}; after the
 * ratio stays below {@link RetreatPolicy#recoverBelowRatio()} for {@link RetreatPolicy#recoverAfter()},
 * {@code RECOVER} adds {@link RetreatPolicy#recoveryStepRpm()} every {@link RetreatPolicy#evaluationInterval()}
 * until the configured rate (then NORMAL); the first 429 at a step steps back, in RETREAT, to one step below what
 * the upstream accepted over the last window (never below the rate that stayed clean for {@code recoverAfter}):
 * an upstream's burst allowance can hide a few steps past its real limit, so the step that drew the 429 is not
 * the one to trust.
 *
 * <p>A rate is judged only by outcomes of requests <em>sent at that rate</em>: every rate change opens a new
 * epoch, dispatch stamps each request with the epoch current at send, and outcomes of other epochs are ignored;
 * a judgement also needs {@link RetreatPolicy#minSample()} outcomes over at least
 * {@link RetreatPolicy#minSampleSpan()}, except that a sample whose 429 share is above
 * {@link RetreatPolicy#alertRatio()} is judged as soon as the upstream has been refusing for {@link #EARLY_SPAN_NANOS}
 * while accepting less than the current rate: a rate that far over the limit wastes attempts every second it is
 * kept.
 *
 * <p>A cut sets the rate from what the upstream actually accepted: {@code clamp(0.95 × accepted_rpm, floor,
 * 0.95 × current_rpm)}, so one cut lands just under the upstream's real limit, and 429s still in flight from the
 * old rate cannot cut twice. {@code accepted_rpm} is the larger of two measures, both over accepted answers of any
 * epoch and of unshaped requests: their rate while the upstream has been refusing at the current rate (from the
 * later of its first refusal and the first answer at this rate; answers keep arriving at the rate the upstream
 * accepts them, so its latency does not dilute the measure), and their count over the last window, which is what
 * an upstream counting over a trailing window allows, even while it refuses everything until the window slides.
 * So a cut never settles below 0.95 × what the upstream accepts over its window.
 *
 * <p>Recovery needs evidence in proportion to the rate: half the answers the current rate sends over the time
 * judged, at most {@link RetreatPolicy#minSample()}, so a low rate climbs back as surely as a high one.
 *
 * <p>Thread-safe: every method is synchronized; calls are short and never block.
 */
public final class RetreatController {
  /** Told about every rate change; called under the controller's lock, so it must only record or log. */
  public interface Listener {
    void onRateChange(RetreatState state, int fromRpm, int toRpm, double ratio, boolean alert, boolean atFloor);
  }

  static final double CUT_FACTOR = 0.95;
  /** How long the upstream must have been refusing (while accepting some) before an early judgement. */
  static final long EARLY_SPAN_NANOS = 2_000_000_000L;
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final RetreatPolicy policy;
  private final Listener listener;
  private final int windowSeconds;
  /** Answers of the current epoch, by second since the epoch started. */
  private final SecondCounts epochCounts;
  private RetreatState state = RetreatState.NORMAL;
  private int baseRpm;
  private int currentRpm;
  private long epoch;
  private long epochStartNanos;
  private long epochFirstAnswerNanos;
  /** Accepted answers per second of every epoch and of unshaped requests: what the upstream takes. */
  private final long originNanos;
  private final SecondCounts allCounts;
  /** When the first accepted answer arrived, or -1. */
  private long firstAnswerNanos = -1;
  /** When the upstream started refusing after a window without refusals, or -1 if it never did. */
  private long refusingSinceNanos = -1;
  private long lastRefusalNanos = -1;
  private long belowSinceNanos = -1;
  /** The rate RECOVER started from: it stayed clean for {@code recoverAfter}; a step back never goes below it. */
  private int cleanRpm;
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
    onUnshapedOutcome(rateLimited, nowNanos);
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
    if (rateLimited) {
      if (lastRefusalNanos < 0 || nowNanos - lastRefusalNanos >= windowNanos()) {
        refusingSinceNanos = nowNanos;
      }
      lastRefusalNanos = nowNanos;
    } else {
      recordAccepted(nowNanos);
    }
  }

  /**
   * Whether the upstream is known to be at its limit: the rate is retreating or recovering, or the upstream
   * refused a request within the last window. Traffic beyond the rate would only draw 429s.
   */
  public synchronized boolean atUpstreamLimit(long nowNanos) {
    return state != RetreatState.NORMAL || (lastRefusalNanos >= 0 && nowNanos - lastRefusalNanos < windowNanos());
  }

  /** Hot change of the configured rate: back to NORMAL at the new rate. */
  public synchronized int setBaseRpm(int newBaseRpm, long nowNanos) {
    baseRpm = newBaseRpm;
    state = RetreatState.NORMAL;
    belowSinceNanos = -1;
    change(newBaseRpm, 0, false, nowNanos);
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
    // Early only for a rate above what the upstream accepts: 429s at a rate it fully accepts are another matter.
    boolean early = ratio > policy.alertRatio() && refusingSpanNanos(now) >= EARLY_SPAN_NANOS
        && acceptedRpmWhileRefusing(now) < currentRpm;
    boolean judged = sample >= policy.minSample() && (span >= policy.minSampleSpan().toNanos() || early);
    switch (state) {
      case NORMAL -> {
        if (judged && ratio >= policy.enterRatio()) {
          state = RetreatState.RETREAT;
          cut(ratio, now);
        }
      }
      case RETREAT -> {
        if (judged && ratio >= policy.cutAgainRatio()) {
          cut(ratio, now);
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
          cut(ratio, now);
        } else if (fresh429) {
          // The first 429 at a step: step back under what the upstream accepted, and wait before climbing again.
          int acceptedRpm = (int) Math.floor(acceptedRpmAllEpochs(now));
          int target = Math.max(cleanRpm, Math.min(currentRpm, acceptedRpm) - policy.recoveryStepRpm());
          state = RetreatState.RETREAT;
          belowSinceNanos = now;
          change(Math.max(policy.floorRpm(), target), ratio, false, now);
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

  private void cut(double ratio, long now) {
    double acceptedRpm = Math.max(acceptedRpmWhileRefusing(now), acceptedPerWindow(now) * 60.0 / windowSeconds);
    int target = (int) Math.floor(Math.min(CUT_FACTOR * acceptedRpm, CUT_FACTOR * currentRpm));
    int newRpm = Math.max(policy.floorRpm(), target);
    boolean alert = ratio > policy.alertRatio();
    if (alert) {
      alerts++;
    }
    belowSinceNanos = -1;
    change(newRpm, ratio, alert, now);
  }

  private void stepUp(double ratio, long now) {
    int newRpm = Math.min(baseRpm, currentRpm + policy.recoveryStepRpm());
    if (newRpm >= baseRpm) {
      state = RetreatState.NORMAL;
    }
    change(newRpm, ratio, false, now);
  }

  private void change(int newRpm, double ratio, boolean alert, long now) {
    int from = currentRpm;
    currentRpm = newRpm;
    newEpoch(now);
    if (from != newRpm || alert) {
      listener.onRateChange(state, from, newRpm, ratio, alert, newRpm == policy.floorRpm());
    }
  }

  private void newEpoch(long now) {
    epoch++;
    epochStartNanos = now;
    epochFirstAnswerNanos = -1;
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
    epochCounts.add((now - epochStartNanos) / NANOS_PER_SECOND, rateLimited);
  }

  /**
   * The first whole second (from the origin) of the time the upstream has been refusing at the current rate: from
   * the later of its first refusal, the first answer at this rate, and the first acceptance at all (acceptances
   * lag their sending by the upstream's latency, and a 429 often comes back at once); within the last window.
   * -1 if the upstream is not refusing, never accepted, or no answer of the current rate has arrived.
   */
  private long refusingFromSecond(long now) {
    if (refusingSinceNanos < 0 || firstAnswerNanos < 0 || epochFirstAnswerNanos < 0
        || now - lastRefusalNanos >= windowNanos()) {
      return -1;
    }
    long from = Math.max(refusingSinceNanos, Math.max(firstAnswerNanos, epochFirstAnswerNanos)) - originNanos;
    long nowSecond = (now - originNanos) / NANOS_PER_SECOND;
    return Math.max((from + NANOS_PER_SECOND - 1) / NANOS_PER_SECOND, nowSecond - windowSeconds + 1);
  }

  /** Time since {@link #refusingFromSecond} began; 0 when there is none. */
  private long refusingSpanNanos(long now) {
    long fromSecond = refusingFromSecond(now);
    return fromSecond < 0 ? 0 : Math.max(0, now - originNanos - fromSecond * NANOS_PER_SECOND);
  }

  /** Accepted answers per minute over {@link #refusingSpanNanos}; 0 when that is empty. */
  private double acceptedRpmWhileRefusing(long now) {
    long span = refusingSpanNanos(now);
    return span <= 0 ? 0 : allCounts.acceptedSince(refusingFromSecond(now), (now - originNanos) / NANOS_PER_SECOND)
        * 60.0 * NANOS_PER_SECOND / span;
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
    long accepted = allCounts.accepted((now - originNanos) / NANOS_PER_SECOND);
    return span <= 0 ? 0 : accepted * 60.0 * NANOS_PER_SECOND / span;
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
