package dev.sluice.config;

import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * The whole, validated configuration: built-in defaults, overridden by the YAML file, overridden by the
 * environment. Immutable; built only by {@link ConfigLoader}.
 *
 * @param server listener settings
 * @param defaults timeouts
 * @param defaultUpstream upstream of passthrough requests (those whose model matches no pool)
 *     ({@code SIDECAR_UPSTREAM}, {@code upstream})
 * @param pools the pools, in declaration order
 * @param defaultPool the pool that takes every model no pool claims by name, glob or alias ({@code default_pool});
 *     default none: such models are passthrough
 * @param logLevel root log level ({@code SIDECAR_LOG_LEVEL}); default INFO
 * @param adminToken bearer token of the admin API ({@code SIDECAR_ADMIN_TOKEN}); required when {@code server.host} is
 *     not a loopback address, optional (and then the admin API is open to local callers) when it is
 */
public record SluiceConfig(
    ServerConfig server, DefaultsConfig defaults, URI defaultUpstream, List<PoolConfig> pools,
    Optional<String> defaultPool, String logLevel, Optional<Secret> adminToken) {
  public static final String DEFAULT_UPSTREAM = "https://integrate.api.nvidia.com/v1";
  public static final String DEFAULT_POOL_NAME = "nvidia";
  public static final List<String> DEFAULT_POOL_ALIASES = List.of("nvidia", "nvidia-gateway", "nvidiavx");
  public static final String DEFAULT_LOG_LEVEL = "INFO";

  public SluiceConfig {
    pools = List.copyOf(pools);
  }
}
