package dev.sluice.config;

import java.util.List;

/**
 * A pool of backends serving the models it claims: by exact name or glob ({@code models}), by provider prefix
 * ({@code aliases}), or as the {@code default_pool}.
 *
 * @param name unique pool name
 * @param aliases lower-case provider prefixes routed here (the text before the first {@code /} of {@code model})
 * @param models exact model names and globs ({@code *} any run of characters, {@code ?} one character) claimed
 *     by this pool, case-sensitive on the whole model string; each 1..256 characters without whitespace; default
 *     none
 * @param stripPrefix forward {@code model} without its provider prefix; default false
 * @param queueMaxSize requests waiting in this pool at most; 1..1000000, default 500 ({@code SIDECAR_QUEUE_MAX})
 * @param fullPolicy what happens when the queue is full; default passthrough
 * @param failover attempts, selection among backends, retries, fallback pool and emergency upstream
 * @param accounting the usage streams are asked for, the completion assumed when a request names none, and what
 *     makes an answer the provider's quota error
 * @param backends ordered backends, at least one
 */
public record PoolConfig(
    String name, List<String> aliases, List<String> models, boolean stripPrefix, int queueMaxSize,
    FullPolicy fullPolicy, FailoverConfig failover, AccountingConfig accounting, List<BackendConfig> backends) {
  public static final int DEFAULT_QUEUE_MAX_SIZE = 500;
  /** Longest model name or glob in {@code models}, in characters. */
  public static final int MAX_MODEL_LENGTH = 256;

  public PoolConfig {
    aliases = List.copyOf(aliases);
    models = List.copyOf(models);
    backends = List.copyOf(backends);
  }

  /** A pool whose accounting settings are the defaults. */
  public PoolConfig(String name, List<String> aliases, List<String> models, boolean stripPrefix, int queueMaxSize,
      FullPolicy fullPolicy, FailoverConfig failover, List<BackendConfig> backends) {
    this(name, aliases, models, stripPrefix, queueMaxSize, fullPolicy, failover, AccountingConfig.defaults(),
        backends);
  }
}
