package dev.sluice.config;

import java.net.URI;
import java.util.Optional;

/**
 * One upstream account: a base URL and, optionally, its own key.
 *
 * @param id unique id, used in the request log and {@code /status}
 * @param baseUrl absolute http(s) URL, e.g. {@code https://integrate.api.nvidia.com/v1}
 * @param apiKey the key sent as {@code Authorization: Bearer}; empty means the caller's {@code Authorization} is
 *     forwarded unchanged. Read from {@code api_key_env} or {@code api_key_file}, never written inline.
 * @param rateRpm requests per minute this backend may be sent; 1..100000, default 40
 * @param capacity token bucket capacity (burst) in requests; 1..100000, default 40
 * @param concurrency concurrency limit settings
 * @param cooldown cooldown-after-429 settings
 * @param quota long-horizon token budget, if any; without one only the provider's quota errors hold the backend
 *     back (probing every {@value QuotaConfig#DEFAULT_PROBE_INTERVAL_SECONDS} s)
 * @param tpm tokens (prompt and completion) per minute this backend may be sent, reserved before sending and
 *     settled on the usage the answer reports; 1..{@value #MAX_TPM}, 0 (the default) for no such limit
 * @param raiseRateFromHeaders whether the provider's {@code x-ratelimit-limit-requests} / {@code -tokens} may
 *     raise {@code rate_rpm} and {@code tpm} when they are set lower (the headers' remaining counts always cap what
 *     is sent); default false
 */
public record BackendConfig(
    String id, URI baseUrl, Optional<Secret> apiKey, int rateRpm, int capacity, ConcurrencyConfig concurrency,
    CooldownConfig cooldown, Optional<QuotaConfig> quota, long tpm, boolean raiseRateFromHeaders) {
  public static final int DEFAULT_RATE_RPM = 40;
  public static final int DEFAULT_CAPACITY = 40;
  /** Upper bound of {@code tpm}. */
  public static final long MAX_TPM = 100_000_000L;

  @Override
  public String toString() {
    return "BackendConfig[id=" + id + ", baseUrl=" + baseUrl + ", apiKey=" + apiKey.map(Secret::masked).orElse("none")
        + ", rateRpm=" + rateRpm + ", capacity=" + capacity + (tpm > 0 ? ", tpm=" + tpm : "") + "]";
  }
}
