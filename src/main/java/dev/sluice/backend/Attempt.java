package dev.sluice.backend;

/**
 * What one upstream attempt produced, as far as the backend's limiters care: the feedback a {@link Permit} is
 * released with.
 *
 * @param status the upstream's status, or 0 when it never answered (connect failure, reset, timeout)
 * @param retryAfterNanos the upstream's {@code Retry-After}, in nanoseconds, or 0 when absent
 * @param remainingRequests the upstream's {@code x-ratelimit-remaining-requests}, or {@link #ABSENT}
 * @param remainingTokens the upstream's {@code x-ratelimit-remaining-tokens}, or {@link #ABSENT}
 */
public record Attempt(int status, long retryAfterNanos, long remainingRequests, long remainingTokens) {
  /** A rate-limit header the upstream did not send (or sent unreadable). */
  public static final long ABSENT = -1;

  /** An answer without rate-limit headers. */
  public Attempt(int status, long retryAfterNanos) {
    this(status, retryAfterNanos, ABSENT, ABSENT);
  }

  /** The attempt never got an answer: nothing to learn about the upstream's limits. */
  public static Attempt unanswered() {
    return new Attempt(0, 0);
  }

  public boolean answered() {
    return status > 0;
  }

  public boolean rateLimited() {
    return status == 429;
  }
}
