package dev.sluice.config;

import java.net.URI;
import java.util.Optional;

/**
 * How a pool spreads its requests over its backends and what it does when they cannot serve.
 *
 * @param maxAttempts upstream attempts per request before its first byte reaches the caller; 1..10, default 3
 * @param selection how the dispatcher chooses among the backends that can serve now; default {@code ordered}
 * @param firstByteTimeoutSeconds an attempt whose upstream sends no response headers within this many seconds
 *     fails over to another backend; 1..3600, default none (the request timeout, {@code timeout_seconds}, applies,
 *     and ends the request with 504)
 * @param retryBudgetPercent retries after a failure (a 5xx, 401/403, connect failure, reset or first-byte timeout)
 *     may add at most this share, plus a reserve of 10, to the pool's first attempts over the last
 *     {@value #RETRY_BUDGET_WINDOW_SECONDS} s; 0..100, default 20. A request refused a retry by the budget gets the
 *     upstream's answer as it was. A retry after a 429 is not counted: it waits for a backend's token like any
 *     request
 * @param spillAfterSeconds a request that waited this long in the queue moves to the fallback pool (or, without
 *     one, to the emergency upstream); 0..3600, default 5; only meaningful with {@code fallbackPool} or
 *     {@code emergencyUpstream}
 * @param fallbackPool pool that takes requests this one cannot serve in time, if any; no cycles
 * @param emergencyUpstream unshaped last-resort upstream, if any: used when neither this pool nor its fallback
 *     pool can serve in time
 */
public record FailoverConfig(
    int maxAttempts, Selection selection, Optional<Integer> firstByteTimeoutSeconds, int retryBudgetPercent,
    int spillAfterSeconds, Optional<String> fallbackPool, Optional<URI> emergencyUpstream) {
  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  public static final int DEFAULT_RETRY_BUDGET_PERCENT = 20;
  public static final int DEFAULT_SPILL_AFTER_SECONDS = 5;
  /** The sliding window over which the retry budget counts attempts, in seconds. */
  public static final int RETRY_BUDGET_WINDOW_SECONDS = 60;

  /** How a pool chooses among its backends that can serve a request now. */
  public enum Selection {
    /** The first in declaration order: later backends take what the earlier cannot (spill-over). */
    ORDERED,
    /** The least loaded relative to its limits: in flight over the concurrency limit, then tokens left. */
    BALANCED
  }

  /** No fallback, no emergency upstream, every other setting at its default. */
  public static FailoverConfig defaults() {
    return new FailoverConfig(DEFAULT_MAX_ATTEMPTS, Selection.ORDERED, Optional.empty(), DEFAULT_RETRY_BUDGET_PERCENT,
        DEFAULT_SPILL_AFTER_SECONDS, Optional.empty(), Optional.empty());
  }
}
