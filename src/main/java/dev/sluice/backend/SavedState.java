package dev.sluice.backend;

import java.util.Optional;

/**
 * What one backend remembers across a restart, apart from its token usage (see {@link UsageMinute}). Instants are
 * wall time, ms since the epoch, so that they mean the same thing to the next process.
 *
 * @param backendId the configured id
 * @param outOfService dead (the upstream refused its key) or disabled by an operator; empty while in service
 * @param cooldownConsecutive failures since the last success
 * @param cooldownEndMillis when the cooldown in progress ends; 0 when not cooling
 * @param adaptiveConcurrency whether the concurrency limit is learned (an operator may have changed the mode)
 * @param concurrencyLimit the concurrency limit in force (learned, or fixed)
 * @param retreatState the adaptive retreat's state: {@code NORMAL}, {@code RETREAT} or {@code RECOVER}
 * @param retreatRateRpm the rate in force, requests per minute
 * @param quotaExceeded the quota guard holds the backend back (QUOTA_EXCEEDED)
 * @param quotaCapErrorSinceMillis when the provider's quota error that holds the backend (until a probe succeeds)
 *     arrived; 0 when none does
 * @param quotaCapErrorMessage the provider's message of that error, empty when none
 * @param quotaLastProbeMillis when the last probe request was let through; 0 before the first
 * @param quotaProbeIntervalMillis the probe interval in force (stretched by a {@code Retry-After})
 */
public record SavedState(String backendId, Optional<OutOfService> outOfService, int cooldownConsecutive,
    long cooldownEndMillis, boolean adaptiveConcurrency, int concurrencyLimit, String retreatState,
    int retreatRateRpm, boolean quotaExceeded, long quotaCapErrorSinceMillis, String quotaCapErrorMessage,
    long quotaLastProbeMillis, long quotaProbeIntervalMillis) {}
