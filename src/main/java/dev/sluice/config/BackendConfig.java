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
 * @param quota long-horizon token budget, if any
 */
public record BackendConfig(
    String id, URI baseUrl, Optional<Secret> apiKey, int rateRpm, int capacity, ConcurrencyConfig concurrency,
    CooldownConfig cooldown, Optional<QuotaConfig> quota) {
  public static final int DEFAULT_RATE_RPM = 40;
  public static final int DEFAULT_CAPACITY = 40;

  @Override
  public String toString() {
    return "BackendConfig[id=" + id + ", baseUrl=" + baseUrl + ", apiKey=" + apiKey.map(Secret::masked).orElse("none")
        + ", rateRpm=" + rateRpm + ", capacity=" + capacity + "]";
  }
}
