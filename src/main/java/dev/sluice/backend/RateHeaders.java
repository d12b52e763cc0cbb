package dev.sluice.backend;

/**
 * What an upstream's own rate limiter said about a key in its {@code x-ratelimit-*} response headers (OpenAI,
 * NVIDIA and others send them). Each field is {@link #ABSENT} when the header was missing or unreadable.
 *
 * @param limitRequests {@code x-ratelimit-limit-requests}: requests allowed per the provider's window
 * @param remainingRequests {@code x-ratelimit-remaining-requests}: requests left before the reset
 * @param resetRequestsNanos {@code x-ratelimit-reset-requests}: nanoseconds from the answer until the request count
 *     is whole again
 * @param limitTokens {@code x-ratelimit-limit-tokens}: tokens allowed per the provider's window
 * @param remainingTokens {@code x-ratelimit-remaining-tokens}: tokens left before the reset
 * @param resetTokensNanos {@code x-ratelimit-reset-tokens}: nanoseconds from the answer until the token count is
 *     whole again
 */
public record RateHeaders(long limitRequests, long remainingRequests, long resetRequestsNanos, long limitTokens,
    long remainingTokens, long resetTokensNanos) {
  /** A header the upstream did not send, or sent unreadable. */
  public static final long ABSENT = -1;

  /** No rate-limit headers at all. */
  public static final RateHeaders NONE = new RateHeaders(ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, ABSENT);

  /** Only the two remaining counts (what telling a 429's kind needs). */
  public static RateHeaders remaining(long remainingRequests, long remainingTokens) {
    return new RateHeaders(ABSENT, remainingRequests, ABSENT, ABSENT, remainingTokens, ABSENT);
  }

  /** Whether the upstream sent any of them. */
  public boolean present() {
    return limitRequests != ABSENT || remainingRequests != ABSENT || resetRequestsNanos != ABSENT
        || limitTokens != ABSENT || remainingTokens != ABSENT || resetTokensNanos != ABSENT;
  }
}
