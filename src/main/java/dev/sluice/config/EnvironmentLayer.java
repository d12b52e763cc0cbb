package dev.sluice.config;

import static dev.sluice.config.ConfigLoader.ENV_API_KEY;
import static dev.sluice.config.ConfigLoader.ENV_BUCKET_CAPACITY;
import static dev.sluice.config.ConfigLoader.ENV_FALLBACK_PASSTHROUGH;
import static dev.sluice.config.ConfigLoader.ENV_MAX_CONCURRENT;
import static dev.sluice.config.ConfigLoader.ENV_LOG_LEVEL;
import static dev.sluice.config.ConfigLoader.ENV_QUEUE_MAX;
import static dev.sluice.config.ConfigLoader.ENV_RATE_RPM;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The environment, the top layer of the configuration: typed, validated reads of its variables, the default pool
 * the pool-level variables build when the file declares no pools, and their overrides of the file's pool
 * {@code nvidia} when it does. A blank variable counts as unset. Immutable.
 */
final class EnvironmentLayer {
  private static final List<String> LOG_LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
  private static final List<String> POOL_VARIABLES =
      List.of(ENV_API_KEY, ENV_RATE_RPM, ENV_BUCKET_CAPACITY, ENV_MAX_CONCURRENT, ENV_QUEUE_MAX,
          ENV_FALLBACK_PASSTHROUGH);

  private final Map<String, String> env;

  EnvironmentLayer(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  Optional<String> string(String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
  }

  Optional<Long> longValue(String name, long min, long max) {
    return string(name).map(value -> {
      long parsed;
      try {
        parsed = Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new ConfigException(name, value + " is not an integer in " + min + ".." + max);
      }
      return Bounds.check(name, parsed, min, max);
    });
  }

  Optional<Integer> intValue(String name, int min, int max) {
    return longValue(name, min, max).map(Long::intValue);
  }

  Optional<Boolean> bool(String name) {
    return string(name).map(value -> switch (value.toLowerCase(Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> throw new ConfigException(name, value + " is not a boolean (true or false)");
    });
  }

  Optional<URI> httpUrl(String name) {
    return string(name).map(value -> Bounds.httpUrl(name, value));
  }

  Optional<Secret> secret(String name) {
    return string(name).map(Secret::of);
  }

  /** {@code SIDECAR_LOG_LEVEL} in upper case, or the default. */
  String logLevel() {
    return string(ENV_LOG_LEVEL).map(level -> logLevel(ENV_LOG_LEVEL, level)).orElse(SluiceConfig.DEFAULT_LOG_LEVEL);
  }

  /** {@code level} in upper case, if it is one Sluice knows; {@code key} names where it came from. */
  static String logLevel(String key, String level) {
    String upper = level.strip().toUpperCase(Locale.ROOT);
    if (!LOG_LEVELS.contains(upper)) {
      throw new ConfigException(key, level + " is not one of " + String.join(", ", LOG_LEVELS));
    }
    return upper;
  }

  /** The pool {@code nvidia} with one backend at {@code upstream}, as the earlier sidecar had. */
  PoolConfig defaultPool(URI upstream) {
    BackendConfig backend = new BackendConfig(
        "nvidia-default", upstream, secret(ENV_API_KEY), rateRpm().orElse(BackendConfig.DEFAULT_RATE_RPM),
        capacity().orElse(BackendConfig.DEFAULT_CAPACITY),
        new ConcurrencyConfig(ConcurrencyConfig.Mode.FIXED, maxConcurrent().orElse(ConcurrencyConfig.DEFAULT_MAX_CONCURRENT)),
        CooldownConfig.defaults(),
        Optional.empty(), 0, false);
    return new PoolConfig(
        SluiceConfig.DEFAULT_POOL_NAME, SluiceConfig.DEFAULT_POOL_ALIASES, List.of(), false,
        queueMax().orElse(PoolConfig.DEFAULT_QUEUE_MAX_SIZE), fullPolicy().orElse(FullPolicy.PASSTHROUGH),
        FailoverConfig.defaults(), List.of(backend));
  }

  /**
   * The file's pools with the pool-level variables applied to the one named {@code nvidia} and its backends (a
   * backend's own key wins over {@code SIDECAR_API_KEY}); a contradiction when any is set and there is no such pool.
   */
  List<PoolConfig> overridePools(List<PoolConfig> pools) {
    List<String> set = POOL_VARIABLES.stream().filter(name -> string(name).isPresent()).toList();
    if (set.isEmpty()) {
      return pools;
    }
    List<PoolConfig> result = new ArrayList<>();
    boolean found = false;
    for (PoolConfig pool : pools) {
      if (!pool.name().equals(SluiceConfig.DEFAULT_POOL_NAME)) {
        result.add(pool);
        continue;
      }
      found = true;
      List<BackendConfig> backends = new ArrayList<>();
      for (BackendConfig b : pool.backends()) {
        backends.add(new BackendConfig(
            b.id(), b.baseUrl(), b.apiKey().or(() -> secret(ENV_API_KEY)), rateRpm().orElse(b.rateRpm()),
            capacity().orElse(b.capacity()),
            maxConcurrent().map(max -> new ConcurrencyConfig(b.concurrency().mode(), max)).orElse(b.concurrency()),
            b.cooldown(), b.quota(), b.tpm(), b.raiseRateFromHeaders()));
      }
      result.add(new PoolConfig(
          pool.name(), pool.aliases(), pool.models(), pool.stripPrefix(), queueMax().orElse(pool.queueMaxSize()),
          fullPolicy().orElse(pool.fullPolicy()), pool.failover(), pool.accounting(), backends));
    }
    if (!found) {
      throw new ConfigException(set.getFirst(), "is set, but the config file declares no pool named "
          + SluiceConfig.DEFAULT_POOL_NAME + " for it to apply to");
    }
    return result;
  }

  private Optional<Integer> rateRpm() {
    return intValue(ENV_RATE_RPM, 1, Bounds.MAX_RATE_RPM);
  }

  private Optional<Integer> capacity() {
    return intValue(ENV_BUCKET_CAPACITY, 1, Bounds.MAX_CAPACITY);
  }

  private Optional<Integer> maxConcurrent() {
    return intValue(ENV_MAX_CONCURRENT, 1, ConcurrencyConfig.MAX_MAX_CONCURRENT);
  }

  private Optional<Integer> queueMax() {
    return intValue(ENV_QUEUE_MAX, 1, Bounds.MAX_QUEUE_SIZE);
  }

  /** {@code SIDECAR_FALLBACK_PASSTHROUGH}: true is passthrough, false is reject. */
  private Optional<FullPolicy> fullPolicy() {
    return bool(ENV_FALLBACK_PASSTHROUGH).map(passthrough -> passthrough ? FullPolicy.PASSTHROUGH : FullPolicy.REJECT);
  }
}
