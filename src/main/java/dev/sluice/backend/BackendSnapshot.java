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
 */
public record BackendSnapshot(String id, String pool, URI baseUrl, boolean hasKey, long tokens, int capacity,
    int rateRpm, RetreatSnapshot retreat, long retryAfterRemainingNanos, int inFlight,
    Optional<RefusalKind> lastRefusal) {}
