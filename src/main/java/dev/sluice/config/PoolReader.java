package dev.sluice.config;

import static dev.sluice.config.Bounds.MAX_ATTEMPTS;
import static dev.sluice.config.Bounds.MAX_CAPACITY;
import static dev.sluice.config.Bounds.MAX_QUEUE_SIZE;
import static dev.sluice.config.Bounds.MAX_RATE_RPM;
import static dev.sluice.config.Bounds.MAX_TIMEOUT_SECONDS;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads the file's {@code pools}, each with its backends and their concurrency, cooldown and quota sections. A
 * backend's key comes from the environment variable its {@code api_key_env} names, or from the file its
 * {@code api_key_file} names (relative to the config file's directory); never from the YAML itself.
 */
final class PoolReader {
  private final EnvironmentLayer env;
  private final Optional<Path> baseDir;

  /** @param baseDir resolves relative {@code api_key_file}s; without it they resolve against the working directory */
  PoolReader(EnvironmentLayer env, Optional<Path> baseDir) {
    this.env = env;
    this.baseDir = baseDir;
  }

  /** The declared pools, or empty when the file has no {@code pools} key. */
  Optional<List<PoolConfig>> read(Section top) {
    boolean declared = top.has("pools");
    List<Section> sections = top.sections("pools");
    if (!declared) {
      return Optional.empty();
    }
    if (sections.isEmpty()) {
      throw new ConfigException("pools", "must declare at least one pool (or leave pools out to use the default)");
    }
    List<PoolConfig> pools = new ArrayList<>();
    for (Section section : sections) {
      pools.add(pool(section));
    }
    return Optional.of(pools);
  }

  private PoolConfig pool(Section s) {
    String name = s.string("name").orElseThrow(() -> new ConfigException(s.path("name"), "is required"));
    List<String> aliases = s.strings("aliases").orElse(List.of(name)).stream()
        .map(alias -> alias.toLowerCase(Locale.ROOT)).toList();
    List<String> models = models(s);
    boolean strip = s.bool("strip_prefix").orElse(false);
    int queueMax = queueMaxSize(s).orElse(PoolConfig.DEFAULT_QUEUE_MAX_SIZE);
    FullPolicy policy = fullPolicy(s).orElse(FullPolicy.PASSTHROUGH);
    FailoverConfig failover = failover(s, FailoverConfig.defaults());
    AccountingConfig accounting = accounting(s, AccountingConfig.defaults());
    List<BackendConfig> backends = new ArrayList<>();
    for (Section b : s.sections("backends")) {
      backends.add(backend(b));
    }
    if (backends.isEmpty()) {
      throw new ConfigException(s.path("backends"), "a pool needs at least one backend");
    }
    s.finish();
    return new PoolConfig(name, aliases, models, strip, queueMax, policy, failover, accounting, backends);
  }

  /** A pool's {@code stream_usage}, {@code default_max_tokens} and {@code quota_errors}; absent ones as {@code d}. */
  static AccountingConfig accounting(Section s, AccountingConfig d) {
    boolean streamUsage = s.bool("stream_usage").orElse(d.streamUsage());
    int defaultMaxTokens = s.intValue("default_max_tokens", 1, AccountingConfig.MAX_DEFAULT_MAX_TOKENS)
        .orElse(d.defaultMaxTokens());
    AccountingConfig.QuotaErrors quotaErrors = s.section("quota_errors").map(q -> {
      AccountingConfig.QuotaErrors errors = new AccountingConfig.QuotaErrors(
          q.ints("statuses", 100, 599).orElse(d.quotaErrors().statuses()),
          q.strings("patterns").orElse(d.quotaErrors().patterns()));
      q.finish();
      return errors;
    }).orElse(d.quotaErrors());
    return new AccountingConfig(streamUsage, defaultMaxTokens, quotaErrors);
  }

  /**
   * The pool's failover settings, each key absent taken from {@code d}; an optional key given as {@code null}
   * means none.
   */
  static FailoverConfig failover(Section s, FailoverConfig d) {
    int maxAttempts = s.intValue("max_attempts", 1, MAX_ATTEMPTS).orElse(d.maxAttempts());
    FailoverConfig.Selection selection = s.string("selection").map(value -> switch (value.toLowerCase(Locale.ROOT)) {
      case "ordered" -> FailoverConfig.Selection.ORDERED;
      case "balanced" -> FailoverConfig.Selection.BALANCED;
      default -> throw new ConfigException(s.path("selection"), value + " is not one of ordered, balanced");
    }).orElse(d.selection());
    Optional<Integer> firstByteTimeout = orNone(s, "first_byte_timeout_seconds",
        s.intValue("first_byte_timeout_seconds", 1, MAX_TIMEOUT_SECONDS), d.firstByteTimeoutSeconds());
    int retryBudget = s.intValue("retry_budget_percent", 0, 100).orElse(d.retryBudgetPercent());
    int spillAfter = s.intValue("spill_after_seconds", 0, MAX_TIMEOUT_SECONDS).orElse(d.spillAfterSeconds());
    Optional<String> fallback = orNone(s, "fallback_pool", s.string("fallback_pool"), d.fallbackPool());
    Optional<URI> emergency = orNone(s, "emergency_upstream",
        s.string("emergency_upstream").map(v -> Bounds.httpUrl(s.path("emergency_upstream"), v)),
        d.emergencyUpstream());
    return new FailoverConfig(maxAttempts, selection, firstByteTimeout, retryBudget, spillAfter, fallback, emergency);
  }

  /** {@code given} if present, none if the key is given as {@code null}, else {@code otherwise}. */
  private static <T> Optional<T> orNone(Section s, String key, Optional<T> given, Optional<T> otherwise) {
    return given.isPresent() || s.isNull(key) ? given : otherwise;
  }

  /** The pool's {@code models}: exact names and globs, each 1..256 characters without whitespace. */
  private static List<String> models(Section s) {
    List<String> models = s.strings("models").orElse(List.of());
    for (int i = 0; i < models.size(); i++) {
      String model = models.get(i);
      String key = s.path("models") + "[" + i + "]";
      if (model.length() > PoolConfig.MAX_MODEL_LENGTH) {
        throw new ConfigException(key, model.substring(0, 40) + "... is " + model.length()
            + " characters long; a model name or glob has 1.." + PoolConfig.MAX_MODEL_LENGTH);
      }
      if (model.codePoints().anyMatch(Character::isWhitespace)) {
        throw new ConfigException(key, "\"" + model + "\" contains whitespace; a model name or glob has none");
      }
    }
    return models;
  }

  static Optional<Integer> queueMaxSize(Section s) {
    return s.intValue("queue_max_size", 1, MAX_QUEUE_SIZE);
  }

  static Optional<FullPolicy> fullPolicy(Section s) {
    return s.string("full_policy").map(value -> {
      try {
        return FullPolicy.valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(s.path("full_policy"), value
            + " is not one of passthrough, reject, drop_lowest");
      }
    });
  }

  static Optional<Integer> rateRpm(Section s) {
    return s.intValue("rate_rpm", 1, MAX_RATE_RPM);
  }

  static Optional<Integer> capacity(Section s) {
    return s.intValue("capacity", 1, MAX_CAPACITY);
  }

  private BackendConfig backend(Section s) {
    String id = s.string("id").orElseThrow(() -> new ConfigException(s.path("id"), "is required"));
    URI baseUrl = s.string("base_url").map(v -> Bounds.httpUrl(s.path("base_url"), v))
        .orElseThrow(() -> new ConfigException(s.path("base_url"), "is required"));
    if (s.has("api_key")) {
      throw new ConfigException(s.path("api_key"), "keys are never written inline; use api_key_env or api_key_file");
    }
    Optional<String> keyEnv = s.string("api_key_env");
    Optional<String> keyFile = s.string("api_key_file");
    if (keyEnv.isPresent() && keyFile.isPresent()) {
      throw new ConfigException(s.path("api_key_env"), "cannot be combined with api_key_file");
    }
    Optional<Secret> key = keyEnv.map(name -> env.secret(name).orElseThrow(() ->
        new ConfigException(s.path("api_key_env"), "environment variable " + name + " is not set")));
    if (keyFile.isPresent()) {
      Path file = baseDir.map(dir -> dir.resolve(keyFile.get())).orElse(Path.of(keyFile.get()));
      key = Optional.of(readKeyFile(s.path("api_key_file"), file));
    }
    int rate = rateRpm(s).orElse(BackendConfig.DEFAULT_RATE_RPM);
    int capacity = capacity(s).orElse(BackendConfig.DEFAULT_CAPACITY);
    ConcurrencyConfig concurrency = s.section("concurrency").map(c -> concurrency(c, ConcurrencyConfig.defaults()))
        .orElse(ConcurrencyConfig.defaults());
    CooldownConfig cooldown = s.section("cooldown").map(c -> cooldown(c, CooldownConfig.defaults()))
        .orElse(CooldownConfig.defaults());
    Optional<QuotaConfig> quota = s.section("quota").map(PoolReader::quota);
    long tpm = s.longValue("tpm", 1, BackendConfig.MAX_TPM).orElse(0L);
    boolean raise = s.bool("raise_rate_from_headers").orElse(false);
    s.finish();
    return new BackendConfig(id, baseUrl, key, rate, capacity, concurrency, cooldown, quota, tpm, raise);
  }

  private static Secret readKeyFile(String key, Path file) {
    try {
      String text = Files.readString(file).strip();
      if (text.isEmpty()) {
        throw new ConfigException(key, "file " + file + " is empty");
      }
      return Secret.of(text);
    } catch (IOException e) {
      throw new ConfigException(key, "cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  /** A backend's {@code concurrency} section, each key absent taken from {@code d}. */
  static ConcurrencyConfig concurrency(Section s, ConcurrencyConfig d) {
    ConcurrencyConfig.Mode mode = s.string("mode").map(value -> switch (value.toLowerCase(Locale.ROOT)) {
      case "fixed" -> ConcurrencyConfig.Mode.FIXED;
      case "adaptive" -> ConcurrencyConfig.Mode.ADAPTIVE;
      default -> throw new ConfigException(s.path("mode"), value + " is not one of fixed, adaptive");
    }).orElse(d.mode());
    int max = s.intValue("max_concurrent", 1, ConcurrencyConfig.MAX_MAX_CONCURRENT).orElse(d.maxConcurrent());
    s.finish();
    return new ConcurrencyConfig(mode, max);
  }

  /** A backend's {@code cooldown} section, each key absent taken from {@code d}. */
  static CooldownConfig cooldown(Section s, CooldownConfig d) {
    int base = s.intValue("base_seconds", 1, MAX_TIMEOUT_SECONDS).orElse(d.baseSeconds());
    int max = s.intValue("max_seconds", base, 86_400).orElse(Math.max(base, d.maxSeconds()));
    boolean exponential = s.bool("exponential").orElse(d.exponential());
    int precheck = s.intValue("precheck_seconds", 0, MAX_TIMEOUT_SECONDS).orElse(d.precheckSeconds());
    s.finish();
    return new CooldownConfig(base, max, exponential, precheck);
  }

  private static QuotaConfig quota(Section s) {
    long budget = s.longValue("budget_tokens", 1, 1_000_000_000_000L)
        .orElseThrow(() -> new ConfigException(s.path("budget_tokens"), "is required"));
    Optional<Integer> hours = s.intValue("window_hours", 1, QuotaConfig.MAX_WINDOW_HOURS);
    Optional<Integer> minutes = s.intValue("window_minutes", 1, QuotaConfig.MAX_WINDOW_MINUTES);
    if (hours.isPresent() && minutes.isPresent()) {
      throw new ConfigException(s.path("window_minutes"), "cannot be combined with window_hours");
    }
    int window = minutes.orElse(hours.orElse(QuotaConfig.DEFAULT_WINDOW_HOURS) * 60);
    int threshold = s.intValue("threshold_percent", 1, 100).orElse(QuotaConfig.DEFAULT_THRESHOLD_PERCENT);
    int probe = s.intValue("probe_interval_seconds", 1, QuotaConfig.MAX_PROBE_INTERVAL_SECONDS)
        .orElse(QuotaConfig.DEFAULT_PROBE_INTERVAL_SECONDS);
    s.finish();
    return new QuotaConfig(budget, window, threshold, probe);
  }
}
