package dev.sluice.backend;

import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatSnapshot;
import java.net.URI;
import java.util.Map;
import java.util.Optional;

/**
 * One backend at one instant, for status pages and metrics: read-only data, never the key.
 *
 * @param pool name of the owning pool
 * @param hasKey whether the backend sends its own key
 * @param tokens whole tokens in its bucket
 * @param capacity the bucket's burst size in requests
 * @param rateRpm the bucket's refill rate in force, requests per minute
 * @param retryAfterRemainingNanos how long the upstream's last {@code Retry-After} still holds the backend
 * @param inFlight requests sent to it and not yet ended
 * @param lastRefusal what the upstream's last 429 was about, if it sent one
 * @param concurrencyLimit requests it may have in flight at once, fixed or learned
 * @param adaptiveConcurrency whether that limit is learned
 * @param cooldownRemainingNanos how long its cooldown still lasts; 0 when not cooling (or it never cools: its pool's
 *     only backend)
 * @param consecutiveFailures failures since its last success, which set the next cooldown's length
 * @param outOfService why it gets no traffic at all (dead or disabled), if so
 * @param refusals the upstream's 429s since start, per kind; kinds never seen are absent
 * @param cooldownsStarted cooldowns started since start (a failure while not cooling; extensions not counted)
 * @param quota its quota guard: state, window usage against the budget, probes
 * @param tpm tokens per minute it may be sent; 0 when it has no such limit
 * @param tpmAvailable tokens of that budget available now (negative while an excess is paid back); 0 without one
 * @param providerRequestsLeft requests its provider's headers said remain (less those sent since), or -1 when no
 *     such count limits it now
 * @param providerTokensLeft tokens its provider's headers said remain (less those reserved since), or -1
 */
public record BackendSnapshot(String id, String pool, URI baseUrl, boolean hasKey, long tokens, int capacity,
    int rateRpm, RetreatSnapshot retreat, long retryAfterRemainingNanos, int inFlight,
    Optional<RefusalKind> lastRefusal, int concurrencyLimit, boolean adaptiveConcurrency,
    long cooldownRemainingNanos, int consecutiveFailures, Optional<OutOfService> outOfService,
    Map<RefusalKind, Long> refusals, long cooldownsStarted, QuotaSnapshot quota, long tpm, long tpmAvailable,
    long providerRequestsLeft, long providerTokensLeft) {

  public BackendSnapshot {
    refusals = Map.copyOf(refusals);
  }

  /**
   * One word for the backend's state: {@code dead}, {@code disabled}, {@code quota_exceeded}, {@code cooling} or
   * {@code active}.
   */
  public String state() {
    if (outOfService.isPresent()) {
      return outOfService.get().disabled() ? "disabled" : "dead";
    }
    if (quota.state() == QuotaState.QUOTA_EXCEEDED) {
      return "quota_exceeded";
    }
    return cooldownRemainingNanos > 0 ? "cooling" : "active";
  }
}
