package dev.sluice.limit;

import com.netflix.concurrency.limits.limit.AIMDLimit;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * How many requests a backend may have in flight at once. In fixed mode the limit is what was configured. In
 * adaptive mode it is learned with Netflix concurrency-limits' {@link AIMDLimit}: a 429 about concurrency halves
 * it, and sustained high utilisation without 429s raises it by one: once as many answers as the limit were
 * accepted, each sent while at least half the limit was in flight (about one step per round trip, as TCP's
 * congestion avoidance grows, rather than one per answer, which would overshoot a provider's limit in a single
 * burst). The limit stays between {@value #MIN_LIMIT} and {@value #MAX_LIMIT}. Other answers (rate 429s,
 * errors) do not move it. Every change of the limit is kept in a bounded history.
 *
 * <p>Never reads a clock: changes are stamped with the caller's {@code wallMillis} (ms since the epoch).
 * Thread-safe: every method holds this object's monitor.
 */
public final class ConcurrencyLimit {
  public static final int MIN_LIMIT = 1;
  public static final int MAX_LIMIT = 100;
  /** Adjustments kept, the newest last. */
  public static final int HISTORY_KEPT = 50;
  /** What a concurrency 429 multiplies the learned limit by. */
  static final double BACKOFF_RATIO = 0.5;

  /**
   * One change of the limit.
   *
   * @param atMillis wall time, ms since the epoch
   * @param from the limit before
   * @param to the limit after
   * @param reason why, for people
   */
  public record Adjustment(long atMillis, int from, int to, String reason) {}

  private boolean adaptive;
  private int fixedLimit;
  private int initialLearned;
  private AIMDLimit learned;
  /** Accepted answers at high utilisation since the limit last changed. */
  private int busyAnswers;
  private final ArrayDeque<Adjustment> history = new ArrayDeque<>();

  /**
   * @param adaptive learn the limit ({@code true}) or keep {@code limit} fixed
   * @param limit the fixed limit, and the learned limit's starting point; 1..100
   */
  public ConcurrencyLimit(boolean adaptive, int limit) {
    checkLimit(limit);
    this.adaptive = adaptive;
    this.fixedLimit = limit;
    this.initialLearned = limit;
    this.learned = newLearned(limit);
  }

  /** The limit in force. */
  public synchronized int limit() {
    return adaptive ? learned.getLimit() : fixedLimit;
  }

  public synchronized boolean adaptive() {
    return adaptive;
  }

  /**
   * An answer ended. Only moves a learned limit.
   *
   * @param answerNanos time from sending to the end of the answer
   * @param inFlightAtSend requests in flight when it was sent, itself included
   * @param concurrencyRefused whether it was a 429 about concurrency
   */
  public synchronized void onAnswer(long answerNanos, int inFlightAtSend, boolean concurrencyRefused,
      long wallMillis) {
    if (!adaptive) {
      return;
    }
    int before = learned.getLimit();
    if (!concurrencyRefused && (inFlightAtSend * 2 < before || ++busyAnswers < before)) {
      return;
    }
    learned.onSample(0, answerNanos, inFlightAtSend, concurrencyRefused);
    int after = learned.getLimit();
    busyAnswers = 0;
    if (after != before) {
      record(wallMillis, before, after, concurrencyRefused
          ? "429 about concurrency with " + inFlightAtSend + " in flight"
          : "accepted " + before + " answers with at least half the limit in flight");
    }
  }

  /**
   * Switches mode (an operator's decision). Turning adaptive on starts learning from {@code fixedLimit}; turning
   * it off keeps {@code fixedLimit} fixed.
   */
  public synchronized void setMode(boolean adaptive, int fixedLimit, long wallMillis) {
    checkLimit(fixedLimit);
    int before = limit();
    this.adaptive = adaptive;
    this.fixedLimit = fixedLimit;
    if (adaptive) {
      initialLearned = fixedLimit;
      learned = newLearned(fixedLimit);
      busyAnswers = 0;
    }
    record(wallMillis, before, limit(), (adaptive ? "adaptive" : "fixed") + " mode set by an operator");
  }

  /** Sets the limit in force now: the fixed limit, or where learning continues from (an operator's decision). */
  public synchronized void setLimit(int limit, long wallMillis) {
    checkLimit(limit);
    int before = limit();
    if (adaptive) {
      learned = newLearned(limit);
      busyAnswers = 0;
    } else {
      fixedLimit = limit;
    }
    record(wallMillis, before, limit, "set by an operator");
  }

  /**
   * Takes up a limit learned before a restart (recorded in the history); ignored unless the limit is learned, so a
   * fixed limit the configuration sets wins.
   */
  public synchronized void restoreLearned(int limit, long wallMillis) {
    if (!adaptive || limit == learned.getLimit()) {
      return;
    }
    checkLimit(limit);
    int before = learned.getLimit();
    learned = newLearned(limit);
    busyAnswers = 0;
    record(wallMillis, before, limit, "learned before a restart");
  }

  /** Forgets what was learned: back to the starting point, history cleared. */
  public synchronized void resetLearning() {
    learned = newLearned(initialLearned);
    busyAnswers = 0;
    history.clear();
  }

  /** The changes of the limit, oldest first. */
  public synchronized List<Adjustment> history() {
    return List.copyOf(history);
  }

  private void record(long wallMillis, int from, int to, String reason) {
    if (history.size() == HISTORY_KEPT) {
      history.removeFirst();
    }
    history.addLast(new Adjustment(wallMillis, from, to, reason));
  }

  private static AIMDLimit newLearned(int initial) {
    return AIMDLimit.newBuilder().initialLimit(initial).minLimit(MIN_LIMIT).maxLimit(MAX_LIMIT)
        .backoffRatio(BACKOFF_RATIO)
        // An LLM answer may take minutes; only a refusal says the limit is too high, never a long answer.
        .timeout(365, TimeUnit.DAYS).build();
  }

  private static void checkLimit(int limit) {
    if (limit < MIN_LIMIT || limit > MAX_LIMIT) {
      throw new IllegalArgumentException("concurrency limit " + limit + " is outside " + MIN_LIMIT + ".." + MAX_LIMIT);
    }
  }
}
