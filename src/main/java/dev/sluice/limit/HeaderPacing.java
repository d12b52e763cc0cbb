package dev.sluice.limit;

import dev.sluice.time.Waits;

/**
 * Paces a backend by what its provider says in {@code x-ratelimit-remaining-*} / {@code x-ratelimit-reset-*}: until
 * the reset the provider named, Sluice sends no more requests, and reserves no more tokens, than it said remain.
 * Each count is followed on its own; a count whose reset has passed, or that the provider never sent, does not
 * limit anything (the configured rate and the adaptive retreat do).
 *
 * <p>The counts are taken when an answer's headers arrive, the freshest word of the provider, and each request sent
 * afterwards is subtracted. A provider's reset is when its count is whole again (OpenAI's meaning), so with the
 * limit known the count is taken to come back evenly until then: a request short of a few tokens waits for those,
 * not for the whole count; without the limit it waits for the reset. Never reads a clock: methods take the caller's {@code nowNanos}. Not thread-safe: its
 * backend calls it under the backend's monitor.
 */
public final class HeaderPacing {
  /** A count the provider did not send. */
  public static final long UNKNOWN = -1;

  private long requestsLeft = UNKNOWN;
  private long requestsResetNanos;
  private long requestsSinceNanos;
  /** How long one request takes to come back, by the provider's count; 0 when its limit is unknown. */
  private long requestNanos;
  private long tokensLeft = UNKNOWN;
  private long tokensResetNanos;
  private long tokensSinceNanos;
  /** How long one token takes to come back; 0 when the limit is unknown. */
  private double tokenNanos;

  /**
   * Takes the provider's counts from an answer's headers at {@code nowNanos}; a count without its reset (or
   * {@link #UNKNOWN}) is ignored.
   *
   * @param remainingRequests requests left, or {@link #UNKNOWN}
   * @param resetRequestsNanos nanoseconds until the request count is whole again, or {@link #UNKNOWN}
   * @param remainingTokens tokens left, or {@link #UNKNOWN}
   * @param resetTokensNanos nanoseconds until the token count is whole again, or {@link #UNKNOWN}
   */
  public void onHeaders(long remainingRequests, long resetRequestsNanos, long remainingTokens,
      long resetTokensNanos, long nowNanos) {
    onHeaders(UNKNOWN, remainingRequests, resetRequestsNanos, UNKNOWN, remainingTokens, resetTokensNanos, nowNanos);
  }

  /**
   * As {@link #onHeaders(long, long, long, long, long)}, with the limits ({@code x-ratelimit-limit-*}, or
   * {@link #UNKNOWN}) that tell how fast the counts come back.
   */
  public void onHeaders(long limitRequests, long remainingRequests, long resetRequestsNanos, long limitTokens,
      long remainingTokens, long resetTokensNanos, long nowNanos) {
    if (remainingRequests >= 0 && resetRequestsNanos >= 0) {
      requestsLeft = remainingRequests;
      requestsResetNanos = Waits.saturatedAdd(nowNanos, resetRequestsNanos);
      requestsSinceNanos = nowNanos;
      requestNanos = limitRequests > remainingRequests ? resetRequestsNanos / (limitRequests - remainingRequests) : 0;
    }
    if (remainingTokens >= 0 && resetTokensNanos >= 0) {
      tokensLeft = remainingTokens;
      tokensResetNanos = Waits.saturatedAdd(nowNanos, resetTokensNanos);
      tokensSinceNanos = nowNanos;
      tokenNanos = limitTokens > remainingTokens ? (double) resetTokensNanos / (limitTokens - remainingTokens) : 0;
    }
  }

  /**
   * The earliest instant a request reserving {@code tokens} may go as far as the provider's counts go:
   * {@code nowNanos} when it may go now.
   */
  public long allowedAt(long tokens, long nowNanos) {
    forgetPast(nowNanos);
    long at = nowNanos;
    if (requestsLeft != UNKNOWN && requestsLeft < 1) {
      at = requestNanos == 0 ? requestsResetNanos
          : Math.min(requestsResetNanos, Waits.saturatedAdd(requestsSinceNanos, (1 - requestsLeft) * requestNanos));
    }
    if (tokensLeft != UNKNOWN && tokens > 0 && tokensLeft < tokens) {
      long back = tokenNanos == 0 ? tokensResetNanos
          : Math.min(tokensResetNanos, Waits.saturatedAdd(tokensSinceNanos, (long) Math.ceil((tokens - tokensLeft)
              * Math.min(tokenNanos, Long.MAX_VALUE / 2.0 / Math.max(1, tokens - tokensLeft)))));
      at = Math.max(at, back);
    }
    return Math.max(at, nowNanos);
  }

  /** A request reserving {@code tokens} was sent at {@code nowNanos}. */
  public void onSent(long tokens, long nowNanos) {
    forgetPast(nowNanos);
    if (requestsLeft != UNKNOWN) {
      requestsLeft--;
    }
    if (tokensLeft != UNKNOWN) {
      tokensLeft -= tokens;
    }
  }

  /** Requests the provider said remain, less those sent since; {@link #UNKNOWN} when not limiting. */
  public long requestsLeft(long nowNanos) {
    forgetPast(nowNanos);
    return requestsLeft;
  }

  /** Tokens the provider said remain, less those reserved since; {@link #UNKNOWN} when not limiting. */
  public long tokensLeft(long nowNanos) {
    forgetPast(nowNanos);
    return tokensLeft;
  }

  private void forgetPast(long nowNanos) {
    if (requestsLeft != UNKNOWN && nowNanos >= requestsResetNanos) {
      requestsLeft = UNKNOWN;
    }
    if (tokensLeft != UNKNOWN && nowNanos >= tokensResetNanos) {
      tokensLeft = UNKNOWN;
    }
  }
}
