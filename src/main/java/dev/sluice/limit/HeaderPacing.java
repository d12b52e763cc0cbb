package dev.sluice.limit;

import dev.sluice.time.Waits;

/**
 * Paces a backend by what its provider says in {@code x-ratelimit-remaining-*} / {@code x-ratelimit-reset-*}: until
 * the reset the provider named, Sluice sends no more requests, and reserves no more tokens, than it said remain.
 * Each count is followed on its own; a count whose reset has passed, or that the provider never sent, does not
 * limit anything (the configured rate and the adaptive retreat do).
 *
 * <p>The counts are taken when an answer's headers arrive, the freshest word of the provider, and each request sent
 * afterwards is subtracted. Never reads a clock: methods take the caller's {@code nowNanos}. Not thread-safe: its
 * backend calls it under the backend's monitor.
 */
public final class HeaderPacing {
  /** A count the provider did not send. */
  public static final long UNKNOWN = -1;

  private long requestsLeft = UNKNOWN;
  private long requestsResetNanos;
  private long tokensLeft = UNKNOWN;
  private long tokensResetNanos;

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
    if (remainingRequests >= 0 && resetRequestsNanos >= 0) {
      requestsLeft = remainingRequests;
      requestsResetNanos = Waits.saturatedAdd(nowNanos, resetRequestsNanos);
    }
    if (remainingTokens >= 0 && resetTokensNanos >= 0) {
      tokensLeft = remainingTokens;
      tokensResetNanos = Waits.saturatedAdd(nowNanos, resetTokensNanos);
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
      at = requestsResetNanos;
    }
    if (tokensLeft != UNKNOWN && tokens > 0 && tokensLeft < tokens) {
      at = Math.max(at, tokensResetNanos);
    }
    return at;
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
