package dev.sluice.backend;

/**
 * What an upstream 429 was about, as far as it can be told. Only {@link #RPM}, {@link #TPM} and {@link #UNKNOWN}
 * are evidence that the backend's request rate is too high; a {@link #CONCURRENCY} refusal is about requests at
 * once, and cutting the rate for it would starve the backend without curing anything.
 */
public enum RefusalKind {
  /** The upstream's {@code x-ratelimit-remaining-requests} was 0. */
  RPM,
  /**
   * The upstream's {@code x-ratelimit-remaining-tokens} was 0, or fewer than the request needed, while requests
   * remained.
   */
  TPM,
  /**
   * Requests remained by the upstream's own count ({@code x-ratelimit-remaining-requests} above 0), or, without
   * that header, the request was sent while more than twice as many were in flight as the backend's rate keeps
   * in flight (rate × mean time to an accepted answer), plus one.
   */
  CONCURRENCY,
  /** No header said, and nothing pointed at concurrency. */
  UNKNOWN;

  /** Lower-case name, as logs, metrics and the admin API show it. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Whether a refusal of this kind says the request rate is above the upstream's limit. */
  public boolean rateEvidence() {
    return this != CONCURRENCY;
  }

  /**
   * @param inFlightAtSend requests of the backend in flight when this one was sent (not counting it)
   * @param expectedInFlight what the backend's rate keeps in flight: requests per second × mean answer seconds;
   *     negative while unknown (no accepted answer yet), and then a refusal without headers is {@link #UNKNOWN}
   * @param requestTokens the tokens the request was expected to use; 0 when unknown
   */
  static RefusalKind of(Attempt refused, int inFlightAtSend, double expectedInFlight, long requestTokens) {
    if (refused.remainingRequests() == 0) {
      return RPM;
    }
    long tokensLeft = refused.remainingTokens();
    if (tokensLeft == 0 || tokensLeft > 0 && tokensLeft < requestTokens) {
      return TPM;
    }
    if (refused.remainingRequests() > 0) {
      return CONCURRENCY;
    }
    return expectedInFlight >= 0 && inFlightAtSend > 2 * expectedInFlight + 1 ? CONCURRENCY : UNKNOWN;
  }
}
