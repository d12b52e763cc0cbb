package dev.sluice.sim;

import dev.sluice.sim.Admission.Verdict;
import dev.sluice.time.Waits;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The provider's hidden limits: a token budget over a long sliding window, requests per minute (token bucket or
 * sliding window), tokens per minute (sliding window) and requests in flight. A call is checked against the budget,
 * then whether it is larger than the whole tokens-per-minute limit, then rate, then tokens, then concurrency, and
 * consumes from all of them only when all admit it; a refusal says which one refused and when to retry.
 *
 * <p>The log of accepted requests and tokens is kept for the last 60 s, and the tokens for the budget's window,
 * whatever the limits, so a limit lowered or set by {@link #update} applies at once to what was already accepted.
 * When the token bucket is switched on from unlimited, it starts at {@code burst} minus the requests accepted within
 * one full refill time.
 *
 * <p>The {@code x-ratelimit-*} headers state the limits after the call is counted (if admitted):
 * {@code remaining} is what is left, and {@code reset} the time until the count is whole again (the bucket full,
 * or the last accepted call out of the 60 s window); on a call refused by rate or tokens, that limit's
 * {@code reset} is instead the time until the call would be admitted, the same wait as {@code Retry-After}.
 *
 * <p>Thread-safe: every method is {@code synchronized}; no I/O happens under the lock. Times are
 * {@code Clock.nanoTime()} values passed in, so tests drive them with a manual clock.
 */
final class Limits {
  static final long WINDOW_NANOS = 60_000_000_000L;
  private static final long CONCURRENCY_RETRY_NANOS = 1_000_000_000L;

  private final TimeWindow requests = new TimeWindow(WINDOW_NANOS);
  private final TimeWindow tokens = new TimeWindow(WINDOW_NANOS);
  private final BudgetWindow budget;
  private final RequestBucket bucket = new RequestBucket();
  private SimConfig config;
  private int inFlight;

  /** Limits as {@code config} sets them; the budget's whole seconds are counted from {@code nowNanos}. */
  Limits(SimConfig config, long nowNanos) {
    this.config = config;
    this.budget = new BudgetWindow(nowNanos, config.budgetWindowSeconds());
    bucket.reset(config.rpm(), config.effectiveBurst(), config.effectiveBurst(), nowNanos);
  }

  /** Switches to {@code next}'s limits, keeping the accepted history and the bucket's level (clamped). */
  synchronized void update(SimConfig next, long nowNanos) {
    requests.evict(nowNanos);
    bucket.refill(nowNanos);
    if (next.rpm() > 0) {
      int burst = next.effectiveBurst();
      double start;
      if (config.rpm() == 0) {
        long refillNanos = Math.min(WINDOW_NANOS, (long) Math.ceil(burst * 60e9 / next.rpm()));
        start = burst - requests.countSince(nowNanos - refillNanos);
      } else {
        start = bucket.tokens();
      }
      bucket.reset(next.rpm(), burst, start, nowNanos);
    }
    budget.resize(next.budgetWindowSeconds());
    config = next;
  }

  /**
   * Admits a call for {@code model} of {@code requestTokens} tokens (prompt + planned completion) or names the
   * limit that refuses it. An admitted call counts as in flight until {@link #release}.
   */
  synchronized Admission tryAdmit(long nowNanos, String model, long requestTokens) {
    evict(nowNanos);
    SimConfig c = config;
    if (c.tokenBudget() > 0) {
      long waitNanos = budget.nanosUntilRoom(c.tokenBudget(), requestTokens, nowNanos);
      if (waitNanos != 0) {
        // Not counted against the rate limits, so no x-ratelimit-* headers: the call never reached them.
        return new Admission(Verdict.QUOTA, waitNanos == BudgetWindow.NEVER ? Admission.NEVER : waitNanos,
            List.of(), c.quotaMessage());
      }
    }
    if (c.tpm() > 0 && requestTokens > c.tpm()) {
      return new Admission(Verdict.TOO_LARGE, Admission.NEVER, headers(c, nowNanos, 0, 0, false),
          "Request too large for " + model + " on tokens per min (TPM): Limit " + c.tpm() + ", Requested "
              + requestTokens + ". The input or output tokens must be reduced in order to run successfully.");
    }
    if (c.rpm() > 0) {
      long waitNanos = c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET
          ? bucket.nanosUntilOne()
          : requests.nanosUntilRoom(c.rpm(), 1, nowNanos);
      if (waitNanos > 0) {
        return new Admission(Verdict.RATE, waitNanos, headers(c, nowNanos, waitNanos, 0, false),
            "Rate limit reached for " + model + " on requests per min (RPM): Limit " + c.rpm() + ", Remaining "
                + remainingRequests(c) + ". Please try again in " + Waits.goDuration(waitNanos) + ".");
      }
    }
    if (c.tpm() > 0) {
      long waitNanos = tokens.nanosUntilRoom(c.tpm(), requestTokens, nowNanos);
      if (waitNanos > 0) {
        return new Admission(Verdict.TOKENS, waitNanos, headers(c, nowNanos, 0, waitNanos, false),
            "Rate limit reached for " + model + " on tokens per min (TPM): Limit " + c.tpm() + ", Used "
                + tokens.sum() + ", Requested " + requestTokens + ". Please try again in "
                + Waits.goDuration(waitNanos) + ".");
      }
    }
    if (c.maxConcurrent() > 0 && inFlight >= c.maxConcurrent()) {
      return new Admission(Verdict.CONCURRENCY, CONCURRENCY_RETRY_NANOS, headers(c, nowNanos, 0, 0, true),
          "Too many concurrent requests");
    }
    if (c.rpm() > 0) {
      bucket.take();
    }
    requests.add(nowNanos, 1);
    tokens.add(nowNanos, requestTokens);
    budget.add(nowNanos, requestTokens);
    inFlight++;
    return new Admission(Verdict.ACCEPTED, 0, headers(c, nowNanos, 0, 0, false), "");
  }

  /** Ends one admitted call. */
  synchronized void release() {
    inFlight--;
  }

  synchronized int inFlight() {
    return inFlight;
  }

  /** Tokens accepted in the last 60 s. */
  synchronized long tokensLastMinute(long nowNanos) {
    evict(nowNanos);
    return tokens.sum();
  }

  /** Tokens accepted in the budget's window (also while no budget is set). */
  synchronized long budgetWindowTokens(long nowNanos) {
    evict(nowNanos);
    return budget.sum();
  }

  private void evict(long nowNanos) {
    requests.evict(nowNanos);
    tokens.evict(nowNanos);
    budget.evict(nowNanos);
    bucket.refill(nowNanos);
  }

  private long remainingRequests(SimConfig c) {
    return c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET
        ? (long) Math.floor(bucket.tokens())
        : Math.max(0, c.rpm() - requests.count());
  }

  private List<Map.Entry<String, String>> headers(
      SimConfig c, long nowNanos, long requestWaitNanos, long tokenWaitNanos, boolean concurrency) {
    if (!c.rateHeaders()) {
      return List.of();
    }
    List<Map.Entry<String, String>> headers = new ArrayList<>(6);
    if (c.rpm() > 0) {
      long resetNanos = requestWaitNanos > 0 ? requestWaitNanos
          : c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET ? bucket.nanosUntilFull()
          : requests.nanosUntilEmpty(nowNanos);
      headers.add(Map.entry("x-ratelimit-limit-requests", Integer.toString(c.rpm())));
      headers.add(Map.entry("x-ratelimit-remaining-requests", Long.toString(remainingRequests(c))));
      headers.add(Map.entry("x-ratelimit-reset-requests", Waits.goDuration(resetNanos)));
    } else if (concurrency) {
      // No request rate limit: say so with a large remaining count, so the 429 reads as a concurrency one.
      headers.add(Map.entry("x-ratelimit-remaining-requests", Integer.toString(SimConfig.MAX_RPM)));
    }
    if (c.tpm() > 0) {
      long resetNanos = tokenWaitNanos > 0 ? tokenWaitNanos : tokens.nanosUntilEmpty(nowNanos);
      headers.add(Map.entry("x-ratelimit-limit-tokens", Integer.toString(c.tpm())));
      headers.add(Map.entry("x-ratelimit-remaining-tokens", Long.toString(Math.max(0, c.tpm() - tokens.sum()))));
      headers.add(Map.entry("x-ratelimit-reset-tokens", Waits.goDuration(resetNanos)));
    }
    return headers;
  }

  @Override
  public synchronized String toString() {
    return "Limits[" + bucket + ", requests=" + requests.count() + ", tokens=" + tokens.sum() + ", " + budget
        + ", inFlight=" + inFlight + "]";
  }
}
