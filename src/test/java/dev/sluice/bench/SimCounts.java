package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The simulated provider's counters that the token benchmark reads ({@code GET /sim/stats}), or the difference of
 * two readings. Its quota errors are 429s (the sim's default {@code quota_status}), so {@code rejected429} counts
 * them too.
 *
 * @param accepted calls admitted
 * @param acceptedTokens their prompt + completion tokens
 * @param rejected429 calls answered 429: over a limit, or the quota error
 * @param byTokens 429s because of the TPM limit
 * @param byRate 429s because of the RPM limit
 * @param tooLarge 429s for a call larger than the whole TPM limit
 * @param byQuota quota errors: the token budget was spent
 */
record SimCounts(long accepted, long acceptedTokens, long rejected429, long byTokens, long byRate, long tooLarge,
    long byQuota) {
  static SimCounts of(JsonNode stats) {
    return new SimCounts(stats.path("accepted").asLong(), stats.path("accepted_tokens").asLong(),
        stats.path("rejected_429").asLong(), stats.path("rejected_by_tokens").asLong(),
        stats.path("rejected_by_rate").asLong(), stats.path("rejected_too_large").asLong(),
        stats.path("rejected_by_quota").asLong());
  }

  SimCounts minus(SimCounts o) {
    return new SimCounts(accepted - o.accepted, acceptedTokens - o.acceptedTokens, rejected429 - o.rejected429,
        byTokens - o.byTokens, byRate - o.byRate, tooLarge - o.tooLarge, byQuota - o.byQuota);
  }

  /** Requests that reached the provider: accepted or refused with a 429. */
  long attempts() {
    return accepted + rejected429;
  }

  /** 429s over attempts; 0 without attempts. */
  double share429() {
    return attempts() == 0 ? 0 : (double) rejected429 / attempts();
  }
}
