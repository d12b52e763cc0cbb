package dev.sluice.limit;

import java.time.Duration;
import java.util.List;

/**
 * A backend's long-horizon token budget: the tokens it used over a sliding window ({@link TokenWindow}) against a
 * budget. At the threshold share of the budget it goes from {@link QuotaState#WITHIN_QUOTA} to
 * {@link QuotaState#QUOTA_EXCEEDED}, and so it does at once when the provider answers with its quota error (a <em>cap
 * error</em>). While exceeded the backend gets no traffic except one <em>probe</em> request every probe interval;
 * a successful probe restores it, and so does usage sliding below the threshold unless a cap error is active. A
 * cap error's {@code Retry-After} stretches the probe interval to at least 1.1 × that value.
 *
 * <p>After a successful probe the provider has shown it still accepts the key, so the guard trusts it: usage alone
 * trips the guard again only after it has been below the threshold once (the provider's own quota error still trips
 * it at once). Without a budget ({@code budgetTokens} 0) only cap errors trip it.
 *
 * <p>Never reads a clock: methods take {@code wallMillis} (wall time, ms since the epoch), because the window and
 * the state outlive the process. Thread-safe: every method holds this object's monitor.
 */
public final class QuotaGuard {
  /**
   * @param budgetTokens tokens allowed per window; 0 for none (only the provider's quota errors trip the guard)
   * @param window window length, whole minutes, at least one
   * @param thresholdPercent share of the budget at which the guard trips, 1..100
   * @param probeInterval while exceeded, one probe request this often
   */
  public record Policy(long budgetTokens, Duration window, int thresholdPercent, Duration probeInterval) {
    public Policy {
      if (budgetTokens < 0 || window.toMinutes() < 1 || window.toSecondsPart() != 0 || window.toMillisPart() != 0
          || window.toNanosPart() != 0 || thresholdPercent < 1 || thresholdPercent > 100
          || probeInterval.isNegative() || probeInterval.isZero()) {
        throw new IllegalArgumentException("quota needs budget ≥ 0, a window of whole minutes ≥ 1, threshold 1..100 "
            + "and a positive probe interval: " + budgetTokens + ", " + window + ", " + thresholdPercent + ", " + probeInterval);
      }
    }

    /** No budget: only the provider's quota errors trip the guard, which then probes every 300 s. */
    public static Policy capErrorsOnly() {
      return new Policy(0, Duration.ofHours(5), 99, Duration.ofSeconds(300));
    }

    /**
     * Tokens in the window at which the guard trips, the threshold share rounded up to a whole token;
     * {@code Long.MAX_VALUE} without a budget. In whole numbers: a double would put 7 % of 100 at 8.
     */
    long thresholdTokens() {
      return budgetTokens == 0 ? Long.MAX_VALUE
          : budgetTokens / 100 * thresholdPercent + Math.ceilDiv(budgetTokens % 100 * thresholdPercent, 100);
    }
  }

  /** What a request may do, as far as the quota goes. */
  public sealed interface Decision permits Admit, Hold {}

  /** Send it; {@code probe} when it is the one probe of an exceeded backend. */
  public record Admit(boolean probe) implements Decision {
    static final Admit REQUEST = new Admit(false);
    static final Admit PROBE = new Admit(true);
  }

  /** Not before {@code untilMillis} (wall); {@code Long.MAX_VALUE} while a probe is out. */
  public record Hold(long untilMillis) implements Decision {}

  /**
   * What the guard keeps across a restart (its window is saved minute by minute, apart).
   *
   * @param exceeded the state is {@link QuotaState#QUOTA_EXCEEDED}
   * @param capErrorSinceMillis when the active cap error arrived (wall); 0 when none is
   * @param capErrorMessage its message, empty when none
   * @param lastProbeMillis wall time of the last probe, 0 before the first
   * @param probeIntervalMillis the probe interval in force
   */
  public record Saved(boolean exceeded, long capErrorSinceMillis, String capErrorMessage, long lastProbeMillis,
      long probeIntervalMillis) {}

  private final Policy policy;
  private final TokenWindow window;
  private QuotaState state = QuotaState.WITHIN_QUOTA;
  private boolean capError;
  private long capErrorSinceMillis;
  private String capErrorMessage = "";
  /** Usage trips the guard only when armed: disarmed by a successful probe, re-armed below the threshold. */
  private boolean usageArmed = true;
  private long probeIntervalMillis;
  private long lastProbeMillis;
  private boolean probeOut;
  private long trips;
  private long probes;
  /** The last change of state, until {@link #takeChange} reads it; else null. */
  private Change change;
  private volatile boolean changePending;

  public QuotaGuard(Policy policy) {
    this.policy = policy;
    this.window = new TokenWindow(Math.toIntExact(policy.window().toMinutes()));
    this.probeIntervalMillis = policy.probeInterval().toMillis();
  }

  /**
   * Whether a request may go at {@code wallMillis}. A request admitted as the probe must be announced with
   * {@link #probeSent} when it is sent (other limits may still hold it back) and answered with {@link #onAnswer}.
   */
  public synchronized Decision admit(long wallMillis) {
    if (refresh(wallMillis) == QuotaState.WITHIN_QUOTA) {
      return Admit.REQUEST;
    }
    // Usage sliding below the threshold ends a usage trip even while a probe is out.
    long below = capError ? Long.MAX_VALUE : window.belowAt(wallMillis, policy.thresholdTokens());
    if (probeOut) {
      return new Hold(below);
    }
    long nextProbe = lastProbeMillis + probeIntervalMillis;
    if (wallMillis >= nextProbe) {
      return Admit.PROBE;
    }
    return new Hold(Math.min(nextProbe, below));
  }

  /**
   * The state at {@code wallMillis}, after the changes usage alone makes: the threshold reached trips the guard
   * (unless a successful probe disarmed it), usage below it restores a guard no cap error holds. Lock held.
   */
  private QuotaState refresh(long wallMillis) {
    long used = window.total(wallMillis);
    long threshold = policy.thresholdTokens();
    if (used < threshold) {
      usageArmed = true;
    }
    if (state == QuotaState.WITHIN_QUOTA && usageArmed && used >= threshold) {
      trip(wallMillis);
      announce("quota exceeded: " + used + " tokens in the last " + describe(policy.window()) + ", "
          + percent(used) + " % of the budget of " + policy.budgetTokens() + " (threshold "
          + policy.thresholdPercent() + " %); one probe every " + probeIntervalMillis / 1000 + " s", false);
    } else if (state == QuotaState.QUOTA_EXCEEDED && !capError && used < threshold) {
      state = QuotaState.WITHIN_QUOTA;
      probeOut = false;
      announce("within quota again: usage slid below the threshold", true);
    }
    return state;
  }

  /**
   * Counts the tokens an answered request used and learns from its answer.
   *
   * @param probe the request was this guard's probe
   * @param accepted the upstream accepted it (2xx)
   * @param quotaError the answer was the provider's quota error
   * @param retryAfterMillis the {@code Retry-After} of that error, 0 when none
   * @param message the provider's message, for people (never a key)
   * @return whether the backend may now serve sooner than before (a probe restored it)
   */
  public synchronized boolean onAnswer(long wallMillis, long usedTokens, boolean probe, boolean accepted,
      boolean quotaError, long retryAfterMillis, String message) {
    window.add(wallMillis, usedTokens);
    if (probe) {
      probeOut = false;
    }
    if (quotaError) {
      boolean news = !capError;
      if (state == QuotaState.WITHIN_QUOTA) {
        trip(wallMillis);
      }
      if (news) {
        capErrorSinceMillis = wallMillis;
      }
      capError = true;
      capErrorMessage = message;
      // The provider just refused: the next probe is one interval away, longer if it asked for longer.
      lastProbeMillis = wallMillis;
      // 1.1 x, rounded up in whole milliseconds (a double would make 400 s into 440.001 s).
      probeIntervalMillis = Math.max(policy.probeInterval().toMillis(),
          retryAfterMillis + Math.ceilDiv(retryAfterMillis, 10));
      if (news) { // the answers of requests in flight together repeat it: told once
        announce("quota exceeded: " + message + "; one probe every " + probeIntervalMillis / 1000 + " s", false);
      }
      return false;
    }
    // A probe answered after usage slid below the threshold, or after a reset, finds the backend restored already.
    if (probe && accepted && state == QuotaState.QUOTA_EXCEEDED) {
      restore();
      announce("within quota again: the probe was accepted", true);
      return true;
    }
    return false;
  }

  /**
   * The probe {@link #admit} allowed is on its way: no other goes until it is answered. Returns the last probe's
   * instant before this one, to give back with {@link #onProbeLost} if this one gets no answer.
   */
  public synchronized long probeSent(long wallMillis) {
    long previous = lastProbeMillis;
    lastProbeMillis = wallMillis;
    probeOut = true;
    probes++;
    return previous;
  }

  /** A probe that never reached the provider (called off before it was sent, or no connection): the next may go at once. */
  public synchronized void onProbeLost(long previousProbeMillis) {
    probeOut = false;
    lastProbeMillis = previousProbeMillis;
  }

  /** A probe that got no answer although the provider may have had it: the next goes one interval after it. */
  public synchronized void onProbeUnanswered() {
    probeOut = false;
  }

  /** An operator's reset: the window forgets its usage and the backend is within quota again. */
  public synchronized void reset() {
    boolean wasExceeded = state == QuotaState.QUOTA_EXCEEDED;
    window.clear();
    restore();
    usageArmed = true;
    probeOut = false;
    if (wasExceeded) {
      announce("within quota again: reset by an operator", true);
    }
  }

  /**
   * A change of the guard's state, for people.
   *
   * @param message what happened, e.g. {@code within quota again: the probe was accepted}
   * @param withinQuota the state it changed to
   */
  public record Change(String message, boolean withinQuota) {}

  /** The last change of state (once), or null when there was none since the last call. */
  public synchronized Change takeChange() {
    Change taken = change;
    change = null;
    changePending = false;
    return taken;
  }

  private void announce(String message, boolean withinQuota) {
    change = new Change(message, withinQuota);
    changePending = true;
  }

  /** Whether a change of state waits to be taken; a cheap look, not under the monitor. */
  public boolean changed() {
    return changePending;
  }

  private static String describe(Duration window) {
    return window.toMinutesPart() == 0 ? window.toHours() + " h" : window.toMinutes() + " min";
  }

  private String percent(long used) {
    return String.format(java.util.Locale.ROOT, "%.1f", 100.0 * used / policy.budgetTokens());
  }

  private void trip(long wallMillis) {
    state = QuotaState.QUOTA_EXCEEDED;
    trips++;
    // The first probe is one interval after the trip, not at once.
    lastProbeMillis = wallMillis;
  }

  private void restore() {
    state = QuotaState.WITHIN_QUOTA;
    capError = false;
    capErrorMessage = "";
    usageArmed = false;
    probeIntervalMillis = policy.probeInterval().toMillis();
  }

  /**
   * The state a request asking at {@code wallMillis} would find: what usage alone changes, shown without changing
   * the guard (a trip, and its probe interval, start when a request asks). Lock held.
   */
  private QuotaState effective(long wallMillis) {
    long used = window.total(wallMillis);
    long threshold = policy.thresholdTokens();
    if (state == QuotaState.WITHIN_QUOTA && usageArmed && used >= threshold) {
      return QuotaState.QUOTA_EXCEEDED;
    }
    if (state == QuotaState.QUOTA_EXCEEDED && !capError && used < threshold) {
      return QuotaState.WITHIN_QUOTA;
    }
    return state;
  }

  /** The guard as of {@code wallMillis}, as a request asking then would find it (see {@link #state(long)}). */
  public synchronized QuotaSnapshot snapshot(long wallMillis) {
    QuotaState state = effective(wallMillis);
    long used = window.total(wallMillis);
    return new QuotaSnapshot(state, used, policy.budgetTokens(),
        policy.budgetTokens() == 0 ? 0 : 100.0 * used / policy.budgetTokens(), policy.thresholdPercent(),
        policy.window().toMinutes() / 60.0, capError, capErrorMessage, probeIntervalMillis, lastProbeMillis,
        state == QuotaState.QUOTA_EXCEEDED ? lastProbeMillis + probeIntervalMillis : 0, trips, probes);
  }

  /** The state as the last decision left it. */
  public synchronized QuotaState state() {
    return state;
  }

  /** The state a request asking at {@code wallMillis} would find; asking changes nothing. */
  public synchronized QuotaState state(long wallMillis) {
    return effective(wallMillis);
  }

  /** What to save; see {@link #restore(Saved, List, long)}. */
  public synchronized Saved saved() {
    return new Saved(state == QuotaState.QUOTA_EXCEEDED, capError ? capErrorSinceMillis : 0, capErrorMessage,
        lastProbeMillis, probeIntervalMillis);
  }

  /** Minutes whose usage changed since the last call, as they stand now. */
  public List<TokenWindow.Minute> drainChangedUsage() {
    return window.drainChanged();
  }

  /** Takes up saved state and usage after a restart; a probe that was out when the process died is lost. */
  public synchronized void restore(Saved saved, List<TokenWindow.Minute> usage, long wallMillis) {
    window.restore(usage, wallMillis);
    state = saved.exceeded() ? QuotaState.QUOTA_EXCEEDED : QuotaState.WITHIN_QUOTA;
    capError = saved.capErrorSinceMillis() != 0;
    capErrorSinceMillis = saved.capErrorSinceMillis();
    capErrorMessage = saved.capErrorMessage();
    lastProbeMillis = saved.lastProbeMillis();
    probeIntervalMillis = capError ? Math.max(policy.probeInterval().toMillis(), saved.probeIntervalMillis())
        : policy.probeInterval().toMillis();
    probeOut = false;
    // Within quota with usage at the threshold only happens after a successful probe disarmed the usage trip.
    usageArmed = state == QuotaState.QUOTA_EXCEEDED || window.total(wallMillis) < policy.thresholdTokens();
    window.drainChanged();
  }

  /** The window's length (the store prunes usage older than this). */
  public synchronized Duration window() {
    return policy.window();
  }
}
