package dev.sluice.sim;

import dev.sluice.sim.Admission.Verdict;
import dev.sluice.time.Waits;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The provider's hidden limits: requests per minute (token bucket or sliding window), tokens per minute (sliding
 * window) and requests in flight. A call is checked against rate, then tokens, then concurrency, and consumes from
 * all of them only when all admit it; a refusal says which one refused and when to retry.
 *
 * <p>The log of accepted requests and tokens is kept for the last 60 s whatever the limits, so a limit lowered by
 * {@link #update} applies at once to what was already accepted. When the token bucket is switched on from
 * unlimited, it starts at {@code burst} minus the requests accepted within one full refill time.
 *
 * <p>Thread-safe: every method is {@code synchronized}; no I/O happens under the lock. Times are
 * {@code Clock.nanoTime()} values passed in, so tests drive them with a manual clock.
 */
final class Limits {
  static final long WINDOW_NANOS = 60_000_000_000L;
  private static final long CONCURRENCY_RETRY_NANOS = 1_000_000_000L;

  private final TimeWindow requests = new TimeWindow(WINDOW_NANOS);
  private final TimeWindow tokens = new TimeWindow(WINDOW_NANOS);
  private final RequestBucket bucket = new RequestBucket();
  private SimConfig config;
  private int inFlight;

  Limits(SimConfig config, long nowNanos) {
    this.config = config;
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
    config = next;
  }

  /**
   * Admits a call of {@code requestTokens} tokens (prompt + planned completion) or names the limit that refuses
   * it. An admitted call counts as in flight until {@link #release}.
   */
  synchronized Admission tryAdmit(long nowNanos, long requestTokens) {
    requests.evict(nowNanos);
    tokens.evict(nowNanos);
    bucket.refill(nowNanos);
    SimConfig c = config;
    if (c.rpm() > 0) {
      long waitNanos = c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET
          ? bucket.nanosUntilOne()
          : requests.nanosUntilRoom(c.rpm(), 1, nowNanos);
      if (waitNanos > 0) {
        return new Admission(Verdict.RATE, waitNanos, headers(c, nowNanos, waitNanos, 0, false),
            "Rate limit reached for requests per min (RPM): Limit " + c.rpm() + ", Remaining "
                + remainingRequests(c) + ". Please try again in " + Waits.goDuration(waitNanos) + ".");
      }
    }
    if (c.tpm() > 0) {
      long waitNanos = tokens.nanosUntilRoom(c.tpm(), requestTokens, nowNanos);
      if (waitNanos > 0) {
        return new Admission(Verdict.TOKENS, waitNanos, headers(c, nowNanos, 0, waitNanos, false),
            "Rate limit reached for tokens per min (TPM): Limit " + c.tpm() + ", Used " + tokens.sum()
                + ", Requested " + requestTokens + ". Please try again in " + Waits.goDuration(waitNanos) + ".");
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

  private long remainingRequests(SimConfig c) {
    return c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET
        ? (long) Math.floor(bucket.tokens())
        : Math.max(0, c.rpm() - requests.count());
  }

  private List<Map.Entry<String, String>> headers(
      SimConfig c, long nowNanos, long requestWaitNanos, long tokenWaitNanos, boolean concurrency) {
    List<Map.Entry<String, String>> headers = new ArrayList<>(6);
    if (c.rpm() > 0) {
      long resetNanos = requestWaitNanos > 0 ? requestWaitNanos
          : c.rateAlgorithm() == RateAlgorithm.TOKEN_BUCKET ? bucket.nanosUntilFull()
          : requests.nanosUntilOldestExpires(nowNanos);
      headers.add(Map.entry("x-ratelimit-limit-requests", Integer.toString(c.rpm())));
      headers.add(Map.entry("x-ratelimit-remaining-requests", Long.toString(remainingRequests(c))));
      headers.add(Map.entry("x-ratelimit-reset-requests", Waits.goDuration(resetNanos)));
    } else if (concurrency) {
      // No request rate limit: say so with a large remaining count, so the 429 reads as a concurrency one.
      headers.add(Map.entry("x-ratelimit-remaining-requests", Integer.toString(SimConfig.MAX_RPM)));
    }
    if (c.tpm() > 0) {
      long resetNanos = tokenWaitNanos > 0 ? tokenWaitNanos : tokens.nanosUntilOldestExpires(nowNanos);
      headers.add(Map.entry("x-ratelimit-limit-tokens", Integer.toString(c.tpm())));
      headers.add(Map.entry("x-ratelimit-remaining-tokens", Long.toString(Math.max(0, c.tpm() - tokens.sum()))));
      headers.add(Map.entry("x-ratelimit-reset-tokens", Waits.goDuration(resetNanos)));
    }
    return headers;
  }

  @Override
  public synchronized String toString() {
    return "Limits[" + bucket + ", requests=" + requests.count() + ", tokens=" + tokens.sum() + ", inFlight="
        + inFlight + "]";
  }
}
