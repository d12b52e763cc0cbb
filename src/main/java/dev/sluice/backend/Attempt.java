package dev.sluice.backend;

/**
 * What one upstream attempt produced, as far as the backend's limiters care: the feedback a {@link Permit} is
 * released with.
 *
 * @param status the upstream's status, or 0 when it never answered (see {@code failure})
 * @param retryAfterNanos the upstream's {@code Retry-After}, in nanoseconds, or 0 when absent
 * @param remainingRequests the upstream's {@code x-ratelimit-remaining-requests}, or {@link #ABSENT}
 * @param remainingTokens the upstream's {@code x-ratelimit-remaining-tokens}, or {@link #ABSENT}
 * @param failure why there was no answer; {@link Failure#NONE} when there was one
 */
public record Attempt(int status, long retryAfterNanos, long remainingRequests, long remainingTokens,
    Failure failure) {
  /** A rate-limit header the upstream did not send (or sent unreadable). */
  public static final long ABSENT = -1;

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

  /** An answer with rate-limit headers. */
  public Attempt(int status, long retryAfterNanos, long remainingRequests, long remainingTokens) {
    this(status, retryAfterNanos, remainingRequests, remainingTokens, Failure.NONE);
  }

  /** An answer without rate-limit headers. */
  public Attempt(int status, long retryAfterNanos) {
    this(status, retryAfterNanos, ABSENT, ABSENT);
  }

  /** The attempt was called off by Sluice: nothing to learn about the upstream's limits. */
  public static Attempt unanswered() {
    return failed(Failure.CANCELLED);
  }

  /** The upstream failed before answering. */
  public static Attempt failed(Failure failure) {
    return new Attempt(0, 0, ABSENT, ABSENT, failure);
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
