package dev.sluice.backend;

/**
 * What one upstream attempt produced, as far as the backend's limiters care: the feedback a {@link Permit} is
 * released with.
 *
 * @param status the upstream's status, or 0 when it never answered (see {@code failure})
 * @param retryAfterNanos how long the upstream asked to wait ({@code Retry-After}, or the reset of an exhausted
 *     {@code x-ratelimit-*} count), in nanoseconds, or 0 when it did not
 * @param rateHeaders the upstream's {@code x-ratelimit-*} headers
 * @param failure why there was no answer; {@link Failure#NONE} when there was one
 * @param usedTokens tokens the request used (prompt and completion) as the upstream's {@code usage} reported them,
 *     or estimated when it reported none (see {@code usageEstimated}); 0 when nothing was answered
 * @param usageEstimated {@code usedTokens} is Sluice's estimate from the bytes, not the upstream's count
 * @param quotaError the answer is the provider's quota error (its status and message matched the pool's
 *     quota-error patterns): the key's long-horizon budget is spent
 */
public record Attempt(int status, long retryAfterNanos, RateHeaders rateHeaders, Failure failure, long usedTokens,
    boolean usageEstimated, boolean quotaError) {
  /** A rate-limit header the upstream did not send (or sent unreadable). */
  public static final long ABSENT = RateHeaders.ABSENT;

  /** Why an attempt got no answer. */
  public enum Failure {
    /** It got one. */
    NONE,
    /** Sluice called it off (the caller left, or it was never sent): nothing to learn about the upstream. */
    CANCELLED,
    /** The connection could not be made. */
    CONNECT,
    /** The connection failed before the response headers. */
    RESET,
    /** No response headers within the pool's first-byte timeout (or the request timeout). */
    TIMEOUT
  }

  /** An answer with these rate-limit headers, no usage and no quota error. */
  public Attempt(int status, long retryAfterNanos, RateHeaders rateHeaders) {
    this(status, retryAfterNanos, rateHeaders, Failure.NONE, 0, false, false);
  }

  /** An answer with the two remaining counts of the rate-limit headers. */
  public Attempt(int status, long retryAfterNanos, long remainingRequests, long remainingTokens) {
    this(status, retryAfterNanos, RateHeaders.remaining(remainingRequests, remainingTokens));
  }

  /** An answer without rate-limit headers. */
  public Attempt(int status, long retryAfterNanos) {
    this(status, retryAfterNanos, RateHeaders.NONE);
  }

  /** The attempt was called off by Sluice: nothing to learn about the upstream's limits. */
  public static Attempt unanswered() {
    return failed(Failure.CANCELLED);
  }

  /** The upstream failed before answering. */
  public static Attempt failed(Failure failure) {
    return new Attempt(0, 0, RateHeaders.NONE, failure, 0, false, false);
  }

  /** This attempt, having used {@code tokens} (counted by the upstream, or estimated). */
  public Attempt withUsage(long tokens, boolean estimated) {
    return new Attempt(status, retryAfterNanos, rateHeaders, failure, tokens, estimated, quotaError);
  }

  /** This attempt, recognised as the provider's quota error. */
  public Attempt asQuotaError() {
    return new Attempt(status, retryAfterNanos, rateHeaders, failure, usedTokens, usageEstimated, true);
  }

  /** {@code x-ratelimit-remaining-requests}, or {@link #ABSENT}. */
  public long remainingRequests() {
    return rateHeaders.remainingRequests();
  }

  /** {@code x-ratelimit-remaining-tokens}, or {@link #ABSENT}. */
  public long remainingTokens() {
    return rateHeaders.remainingTokens();
  }
  public boolean answered() {
    return status > 0;
  }

  public boolean rateLimited() {
    return status == 429;
  }

  /** Whether the upstream itself failed: a 5xx, or no answer for a reason other than Sluice calling it off. */
  public boolean upstreamFailed() {
    return status >= 500 || failure != Failure.NONE && failure != Failure.CANCELLED;
  }

  /** Whether the upstream refused the credentials: 401 or 403. */
  public boolean credentialsRefused() {
    return status == 401 || status == 403;
  }
}
