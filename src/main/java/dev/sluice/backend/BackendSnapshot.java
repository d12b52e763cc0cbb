package dev.sluice.backend;

import dev.sluice.limit.RetreatSnapshot;
import java.net.URI;
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
 */
public record BackendSnapshot(String id, String pool, URI baseUrl, boolean hasKey, long tokens, int capacity,
    int rateRpm, RetreatSnapshot retreat, long retryAfterRemainingNanos, int inFlight,
    Optional<RefusalKind> lastRefusal, int concurrencyLimit, boolean adaptiveConcurrency,
    long cooldownRemainingNanos, int consecutiveFailures, Optional<OutOfService> outOfService) {

  /** One word for the backend's state: {@code dead}, {@code disabled}, {@code cooling} or {@code active}. */
  public String state() {
    if (outOfService.isPresent()) {
      return outOfService.get().disabled() ? "disabled" : "dead";
    }
    return cooldownRemainingNanos > 0 ? "cooling" : "active";
  }
}
