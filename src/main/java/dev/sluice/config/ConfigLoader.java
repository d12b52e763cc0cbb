package dev.sluice.config;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sluice.limit.RetreatPolicy;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Builds a {@link SluiceConfig} from built-in defaults, an optional YAML file and the environment, in that order
 * of precedence, and validates it fail-fast: the first bad value stops loading with a {@link ConfigException}
 * whose message names the key, the value and the legal range.
 *
 * <p>The environment overrides the file's {@code server}, {@code defaults} and {@code upstream}. The pool-level
 * variables ({@code SIDECAR_API_KEY}, {@code SIDECAR_RATE_RPM}, {@code SIDECAR_BUCKET_CAPACITY},
 * {@code SIDECAR_QUEUE_MAX}, {@code SIDECAR_FALLBACK_PASSTHROUGH}) describe the default pool {@code nvidia}: with
 * no pools in the file they build it (one backend at {@code SIDECAR_UPSTREAM}); with pools in the file they
 * override the pool named {@code nvidia} and its backends, and are rejected if the file has no such pool.
 */
public final class ConfigLoader {
  public static final String ENV_HOST = "SIDECAR_HOST";
  public static final String ENV_PORT = "SIDECAR_PORT";
  public static final String ENV_METRICS_PORT = "SIDECAR_METRICS_PORT";
  public static final String ENV_UPSTREAM = "SIDECAR_UPSTREAM";
  public static final String ENV_API_KEY = "SIDECAR_API_KEY";
  public static final String ENV_RATE_RPM = "SIDECAR_RATE_RPM";
  public static final String ENV_BUCKET_CAPACITY = "SIDECAR_BUCKET_CAPACITY";
  public static final String ENV_TIMEOUT = "SIDECAR_TIMEOUT";
  public static final String ENV_QUEUE_MAX = "SIDECAR_QUEUE_MAX";
  public static final String ENV_LOW_TIMEOUT = "SIDECAR_LOW_TIMEOUT";
  public static final String ENV_FALLBACK_PASSTHROUGH = "SIDECAR_FALLBACK_PASSTHROUGH";
  public static final String ENV_LOG_LEVEL = "SIDECAR_LOG_LEVEL";
  public static final String ENV_ADMIN_TOKEN = "SIDECAR_ADMIN_TOKEN";
  public static final String ENV_MAX_BODY_BYTES = "SIDECAR_MAX_BODY_BYTES";
  public static final String ENV_MAX_CONNECTIONS_PER_UPSTREAM = "SIDECAR_MAX_CONNECTIONS_PER_UPSTREAM";

  static final int MAX_PORT = 65_535;
  static final int MAX_TIMEOUT_SECONDS = 3_600;
  static final int MAX_RATE_RPM = 100_000;
  static final int MAX_CAPACITY = 100_000;
  static final int MAX_QUEUE_SIZE = 1_000_000;
  static final int MAX_ATTEMPTS = 10;
  static final long MIN_BODY_BYTES = 1_024;
  static final long MAX_BODY_BYTES = 1L << 30;
  static final int MAX_CONNECTIONS = 100_000;
  private static final List<String> LOG_LEVELS = List.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  private final Map<String, String> env;

  /** @param env the process environment, or a test's map */
  public ConfigLoader(Map<String, String> env) {
    this.env = Map.copyOf(env);
  }

  /** Loads from the environment alone. */
  public SluiceConfig load() {
    return load(MissingNode.getInstance(), Optional.empty());
  }

  /** Loads the YAML file, then the environment over it. */
  public SluiceConfig load(Path yamlFile) {
    String text;
    try {
      text = Files.readString(yamlFile);
    } catch (NoSuchFileException e) {
      throw new ConfigException("--config: file " + yamlFile + " does not exist");
    } catch (IOException e) {
      throw new ConfigException("--config: cannot read " + yamlFile + ": " + e.getMessage(), e);
    }
    return loadYaml(text, yamlFile.toAbsolutePath().getParent());
  }

  /** Where and what, on one line: SnakeYAML's own report spans several, with the context and a caret drawing. */
  private static String yamlProblem(JacksonException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
        Mark mark = marked.getProblemMark();
        return "line " + (mark.getLine() + 1) + ", column " + (mark.getColumn() + 1) + ": " + marked.getProblem()
            + (marked.getContext() == null ? "" : " (" + marked.getContext() + ")");
      }
    }
    return e.getOriginalMessage().lines().findFirst().orElse("")
        + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")");
  }

  /** Loads YAML text, then the environment over it; {@code baseDir} resolves relative {@code api_key_file}s. */
  public SluiceConfig loadYaml(String yaml, Path baseDir) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
    } catch (JacksonException e) {
      throw new ConfigException("config file is not valid YAML: " + yamlProblem(e));
    }
    if (root == null || root.isMissingNode() || root.isNull()) {
      root = MissingNode.getInstance();
    }
    return load(root, Optional.ofNullable(baseDir));
  }

  private SluiceConfig load(JsonNode root, Optional<Path> baseDir) {
    boolean hasFile = !root.isMissingNode();
    if (hasFile && !root.isObject()) {
      throw new ConfigException("config file: expected a mapping of server, defaults, upstream and pools at the top");
    }
    Section top = hasFile ? Section.root(root) : null;

    ServerConfig server = server(hasFile ? top.section("server") : Optional.empty());
    DefaultsConfig defaults = defaults(hasFile ? top.section("defaults") : Optional.empty());
    Optional<URI> fileUpstream = hasFile ? top.string("upstream").map(v -> url("upstream", v)) : Optional.empty();
    URI upstream = envString(ENV_UPSTREAM).map(v -> url(ENV_UPSTREAM, v)).or(() -> fileUpstream)
        .orElse(URI.create(SluiceConfig.DEFAULT_UPSTREAM));

    List<PoolConfig> pools;
    if (hasFile && top.has("pools")) {
      List<Section> sections = top.sections("pools");
      if (sections.isEmpty()) {
        throw new ConfigException("pools: must declare at least one pool (or leave pools out to use the default)");
      }
      pools = new ArrayList<>();
      for (Section section : sections) {
        pools.add(pool(section, baseDir));
      }
      pools = applyPoolEnvironment(pools);
    } else {
      if (hasFile) {
        top.sections("pools");
      }
      pools = List.of(defaultPool(upstream));
    }
    if (hasFile) {
      top.finish();
    }
    checkPools(pools);

    String logLevel = envString(ENV_LOG_LEVEL).map(level -> {
      String upper = level.toUpperCase(Locale.ROOT);
      if (!LOG_LEVELS.contains(upper)) {
        throw new ConfigException(ENV_LOG_LEVEL + ": " + level + " is not one of " + String.join(", ", LOG_LEVELS));
      }
      return upper;
    }).orElse(SluiceConfig.DEFAULT_LOG_LEVEL);
    Optional<Secret> adminToken = envString(ENV_ADMIN_TOKEN).map(Secret::of);
    return new SluiceConfig(server, defaults, upstream, pools, logLevel, adminToken);
  }

  private ServerConfig server(Optional<Section> s) {
    // The file's values are read (and validated) even where the environment overrides them.
    Optional<String> fileHost = s.flatMap(x -> x.string("host"));
    Optional<Integer> filePort = s.flatMap(x -> x.intValue("port", 0, MAX_PORT));
    Optional<Integer> fileMetricsPort = s.flatMap(x -> x.intValue("metrics_port", 0, MAX_PORT));
    Optional<Long> fileMaxBody = s.flatMap(x -> x.longValue("max_body_bytes", MIN_BODY_BYTES, MAX_BODY_BYTES));
    Optional<Integer> fileConnections =
        s.flatMap(x -> x.intValue("max_connections_per_upstream", 1, MAX_CONNECTIONS));
    int queued = s.flatMap(x -> x.intValue("max_queued_per_upstream", 1, MAX_CONNECTIONS))
        .orElse(ServerConfig.DEFAULT_MAX_QUEUED_PER_UPSTREAM);
    s.ifPresent(Section::finish);

    String host = envString(ENV_HOST).or(() -> fileHost).orElse(ServerConfig.DEFAULT_HOST);
    Optional<Integer> envPort = envInt(ENV_PORT, 0, MAX_PORT);
    Optional<Integer> envMetricsPort = envInt(ENV_METRICS_PORT, 0, MAX_PORT);
    int port = envPort.or(() -> filePort).orElse(ServerConfig.DEFAULT_PORT);
    int metricsPort = envMetricsPort.or(() -> fileMetricsPort).orElse(ServerConfig.DEFAULT_METRICS_PORT);
    long maxBody = envLong(ENV_MAX_BODY_BYTES, MIN_BODY_BYTES, MAX_BODY_BYTES).or(() -> fileMaxBody)
        .orElse(ServerConfig.DEFAULT_MAX_BODY_BYTES);
    int connections = envInt(ENV_MAX_CONNECTIONS_PER_UPSTREAM, 1, MAX_CONNECTIONS).or(() -> fileConnections)
        .orElse(ServerConfig.DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM);
    if (port != 0 && port == metricsPort) {
      throw new ConfigException((envMetricsPort.isPresent() ? ENV_METRICS_PORT : "server.metrics_port") + ": "
          + metricsPort + " must differ from " + (envPort.isPresent() ? ENV_PORT : "server.port") + " (" + port
          + "); any other port in 0.." + MAX_PORT);
    }
    return new ServerConfig(host, port, metricsPort, maxBody, connections, queued);
  }

  private DefaultsConfig defaults(Optional<Section> s) {
    Optional<Integer> fileTimeout = s.flatMap(x -> x.intValue("timeout_seconds", 1, MAX_TIMEOUT_SECONDS));
    Optional<Integer> fileLowTimeout =
        s.flatMap(x -> x.intValue("low_priority_timeout_seconds", 1, MAX_TIMEOUT_SECONDS));
    RetreatPolicy retreat = s.flatMap(x -> x.section("retreat")).map(ConfigLoader::retreat)
        .orElse(RetreatPolicy.defaults());
    s.ifPresent(Section::finish);
    int timeout = envInt(ENV_TIMEOUT, 1, MAX_TIMEOUT_SECONDS).or(() -> fileTimeout)
        .orElse(DefaultsConfig.DEFAULT_TIMEOUT_SECONDS);
    int lowTimeout = envInt(ENV_LOW_TIMEOUT, 1, MAX_TIMEOUT_SECONDS).or(() -> fileLowTimeout)
        .orElse(DefaultsConfig.DEFAULT_LOW_PRIORITY_TIMEOUT_SECONDS);
    return new DefaultsConfig(timeout, lowTimeout, retreat);
  }

  private static RetreatPolicy retreat(Section s) {
    RetreatPolicy d = RetreatPolicy.defaults();
    boolean enabled = s.bool("enabled").orElse(d.enabled());
    int window = s.intValue("window_seconds", 10, MAX_TIMEOUT_SECONDS).orElse((int) d.window().toSeconds());
    int recoverBelow = s.intValue("recover_below_percent", 0, 100).orElse(percent(d.recoverBelowRatio()));
    int enter = s.intValue("enter_percent", recoverBelow, 100).orElse(Math.max(recoverBelow, percent(d.enterRatio())));
    int cutAgain = s.intValue("cut_again_percent", enter, 100).orElse(Math.max(enter, percent(d.cutAgainRatio())));
    int alert = s.intValue("alert_percent", cutAgain, 100).orElse(Math.max(cutAgain, percent(d.alertRatio())));
    int recoverAfter = s.intValue("recover_after_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) d.recoverAfter().toSeconds());
    int floor = s.intValue("floor_rpm", 1, MAX_RATE_RPM).orElse(d.floorRpm());
    int minSample = s.intValue("min_sample", 1, 100_000).orElse(d.minSample());
    int minSampleSeconds = s.intValue("min_sample_seconds", 1, window).orElse(
        (int) Math.min(window, d.minSampleSpan().toSeconds()));
    int step = s.intValue("recovery_step_rpm", 1, MAX_RATE_RPM).orElse(d.recoveryStepRpm());
    int interval = s.intValue("evaluation_interval_seconds", 1, MAX_TIMEOUT_SECONDS)
        .orElse((int) d.evaluationInterval().toSeconds());
    s.finish();
    return new RetreatPolicy(enabled, Duration.ofSeconds(window), enter / 100.0, cutAgain / 100.0, alert / 100.0,
        recoverBelow / 100.0, Duration.ofSeconds(recoverAfter), floor, minSample, Duration.ofSeconds(minSampleSeconds),
        step, Duration.ofSeconds(interval));
  }

  private static int percent(double ratio) {
    return (int) Math.round(ratio * 100);
  }

  private PoolConfig defaultPool(URI upstream) {
    BackendConfig backend = new BackendConfig(
        "nvidia-default", upstream, envString(ENV_API_KEY).map(Secret::of),
        envInt(ENV_RATE_RPM, 1, MAX_RATE_RPM).orElse(BackendConfig.DEFAULT_RATE_RPM),
        envInt(ENV_BUCKET_CAPACITY, 1, MAX_CAPACITY).orElse(BackendConfig.DEFAULT_CAPACITY),
        ConcurrencyConfig.defaults(), CooldownConfig.defaults(), Optional.empty());
    return new PoolConfig(
        SluiceConfig.DEFAULT_POOL_NAME, SluiceConfig.DEFAULT_POOL_ALIASES, false,
        envInt(ENV_QUEUE_MAX, 1, MAX_QUEUE_SIZE).orElse(PoolConfig.DEFAULT_QUEUE_MAX_SIZE),
        envBool(ENV_FALLBACK_PASSTHROUGH).map(ConfigLoader::policyOf).orElse(FullPolicy.PASSTHROUGH),
        PoolConfig.DEFAULT_MAX_ATTEMPTS, Optional.empty(), Optional.empty(), List.of(backend));
  }

  private static FullPolicy policyOf(boolean passthrough) {
    return passthrough ? FullPolicy.PASSTHROUGH : FullPolicy.REJECT;
  }

  private List<PoolConfig> applyPoolEnvironment(List<PoolConfig> pools) {
    List<String> poolVariables = List.of(
        ENV_API_KEY, ENV_RATE_RPM, ENV_BUCKET_CAPACITY, ENV_QUEUE_MAX, ENV_FALLBACK_PASSTHROUGH);
    List<String> set = poolVariables.stream().filter(name -> envString(name).isPresent()).toList();
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
            b.id(), b.baseUrl(), b.apiKey().or(() -> envString(ENV_API_KEY).map(Secret::of)),
            envInt(ENV_RATE_RPM, 1, MAX_RATE_RPM).orElse(b.rateRpm()),
            envInt(ENV_BUCKET_CAPACITY, 1, MAX_CAPACITY).orElse(b.capacity()),
            b.concurrency(), b.cooldown(), b.quota()));
      }
      result.add(new PoolConfig(
          pool.name(), pool.aliases(), pool.stripPrefix(),
          envInt(ENV_QUEUE_MAX, 1, MAX_QUEUE_SIZE).orElse(pool.queueMaxSize()),
          envBool(ENV_FALLBACK_PASSTHROUGH).map(ConfigLoader::policyOf).orElse(pool.fullPolicy()),
          pool.maxAttempts(), pool.fallbackPool(), pool.emergencyUpstream(), backends));
    }
    if (!found) {
      throw new ConfigException(set.getFirst() + ": is set, but the config file declares no pool named "
          + SluiceConfig.DEFAULT_POOL_NAME + " for it to apply to");
    }
    return result;
  }

  private PoolConfig pool(Section s, Optional<Path> baseDir) {
    String name = s.string("name").orElseThrow(() -> new ConfigException(s.path("name") + ": is required"));
    List<String> aliases = s.strings("aliases").orElse(List.of(name)).stream()
        .map(alias -> alias.toLowerCase(Locale.ROOT)).toList();
    boolean strip = s.bool("strip_prefix").orElse(false);
    int queueMax = s.intValue("queue_max_size", 1, MAX_QUEUE_SIZE).orElse(PoolConfig.DEFAULT_QUEUE_MAX_SIZE);
    FullPolicy policy = s.string("full_policy").map(value -> {
      try {
        return FullPolicy.valueOf(value.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new ConfigException(s.path("full_policy") + ": " + value
            + " is not one of passthrough, reject, drop_lowest");
      }
    }).orElse(FullPolicy.PASSTHROUGH);
    int maxAttempts = s.intValue("max_attempts", 1, MAX_ATTEMPTS).orElse(PoolConfig.DEFAULT_MAX_ATTEMPTS);
    Optional<String> fallback = s.string("fallback_pool");
    Optional<URI> emergency = s.string("emergency_upstream").map(v -> url(s.path("emergency_upstream"), v));
    List<BackendConfig> backends = new ArrayList<>();
    for (Section b : s.sections("backends")) {
      backends.add(backend(b, baseDir));
    }
    if (backends.isEmpty()) {
      throw new ConfigException(s.path("backends") + ": a pool needs at least one backend");
    }
    s.finish();
    return new PoolConfig(name, aliases, strip, queueMax, policy, maxAttempts, fallback, emergency, backends);
  }

  private BackendConfig backend(Section s, Optional<Path> baseDir) {
    String id = s.string("id").orElseThrow(() -> new ConfigException(s.path("id") + ": is required"));
    URI baseUrl = s.string("base_url").map(v -> url(s.path("base_url"), v))
        .orElseThrow(() -> new ConfigException(s.path("base_url") + ": is required"));
    if (s.has("api_key")) {
      throw new ConfigException(s.path("api_key") + ": keys are never written inline; use api_key_env or api_key_file");
    }
    Optional<String> keyEnv = s.string("api_key_env");
    Optional<String> keyFile = s.string("api_key_file");
    if (keyEnv.isPresent() && keyFile.isPresent()) {
      throw new ConfigException(s.path("api_key_env") + ": cannot be combined with api_key_file");
    }
    Optional<Secret> key = keyEnv.map(name -> envString(name).map(Secret::of).orElseThrow(() ->
        new ConfigException(s.path("api_key_env") + ": environment variable " + name + " is not set")));
    if (keyFile.isPresent()) {
      Path file = baseDir.map(dir -> dir.resolve(keyFile.get())).orElse(Path.of(keyFile.get()));
      key = Optional.of(readKeyFile(s.path("api_key_file"), file));
    }
    int rate = s.intValue("rate_rpm", 1, MAX_RATE_RPM).orElse(BackendConfig.DEFAULT_RATE_RPM);
    int capacity = s.intValue("capacity", 1, MAX_CAPACITY).orElse(BackendConfig.DEFAULT_CAPACITY);
    ConcurrencyConfig concurrency = s.section("concurrency").map(ConfigLoader::concurrency)
        .orElse(ConcurrencyConfig.defaults());
    CooldownConfig cooldown = s.section("cooldown").map(ConfigLoader::cooldown).orElse(CooldownConfig.defaults());
    Optional<QuotaConfig> quota = s.section("quota").map(ConfigLoader::quota);
    s.finish();
    return new BackendConfig(id, baseUrl, key, rate, capacity, concurrency, cooldown, quota);
  }

  private static Secret readKeyFile(String key, Path file) {
    try {
      String text = Files.readString(file).strip();
      if (text.isEmpty()) {
        throw new ConfigException(key + ": file " + file + " is empty");
      }
      return Secret.of(text);
    } catch (IOException e) {
      throw new ConfigException(key + ": cannot read " + file + " (" + e.getClass().getSimpleName() + ")");
    }
  }

  private static ConcurrencyConfig concurrency(Section s) {
    ConcurrencyConfig.Mode mode = s.string("mode").map(value -> switch (value.toLowerCase(Locale.ROOT)) {
      case "fixed" -> ConcurrencyConfig.Mode.FIXED;
      case "adaptive" -> ConcurrencyConfig.Mode.ADAPTIVE;
      default -> throw new ConfigException(s.path("mode") + ": " + value + " is not one of fixed, adaptive");
    }).orElse(ConcurrencyConfig.Mode.FIXED);
    int max = s.intValue("max_concurrent", 1, 100).orElse(ConcurrencyConfig.DEFAULT_MAX_CONCURRENT);
    s.finish();
    return new ConcurrencyConfig(mode, max);
  }

  private static CooldownConfig cooldown(Section s) {
    CooldownConfig d = CooldownConfig.defaults();
    int base = s.intValue("base_seconds", 1, MAX_TIMEOUT_SECONDS).orElse(d.baseSeconds());
    int max = s.intValue("max_seconds", base, 86_400).orElse(Math.max(base, d.maxSeconds()));
    boolean exponential = s.bool("exponential").orElse(d.exponential());
    int precheck = s.intValue("precheck_seconds", 0, MAX_TIMEOUT_SECONDS).orElse(d.precheckSeconds());
    s.finish();
    return new CooldownConfig(base, max, exponential, precheck);
  }

  private static QuotaConfig quota(Section s) {
    long budget = s.longValue("budget_tokens", 1, 1_000_000_000_000L)
        .orElseThrow(() -> new ConfigException(s.path("budget_tokens") + ": is required"));
    int window = s.intValue("window_hours", 1, 168).orElse(5);
    int threshold = s.intValue("threshold_percent", 1, 100).orElse(99);
    int probe = s.intValue("probe_interval_seconds", 1, 86_400).orElse(300);
    s.finish();
    return new QuotaConfig(budget, window, threshold, probe);
  }

  private static void checkPools(List<PoolConfig> pools) {
    Set<String> names = new HashSet<>();
    Map<String, String> aliasOwner = new HashMap<>();
    Set<String> backendIds = new HashSet<>();
    for (int i = 0; i < pools.size(); i++) {
      PoolConfig pool = pools.get(i);
      String path = "pools[" + i + "]";
      if (!names.add(pool.name())) {
        throw new ConfigException(path + ".name: " + pool.name() + " is declared twice");
      }
      for (String alias : pool.aliases()) {
        String owner = aliasOwner.putIfAbsent(alias, pool.name());
        if (owner != null && !owner.equals(pool.name())) {
          throw new ConfigException(path + ".aliases: " + alias + " already belongs to pool " + owner);
        }
      }
      for (int j = 0; j < pool.backends().size(); j++) {
        String id = pool.backends().get(j).id();
        if (!backendIds.add(id)) {
          throw new ConfigException(path + ".backends[" + j + "].id: " + id + " is declared twice");
        }
      }
    }
    for (int i = 0; i < pools.size(); i++) {
      PoolConfig pool = pools.get(i);
      if (pool.fallbackPool().isPresent()) {
        String fallback = pool.fallbackPool().get();
        if (fallback.equals(pool.name()) || !names.contains(fallback)) {
          throw new ConfigException("pools[" + i + "].fallback_pool: " + fallback
              + " must name another declared pool (one of " + String.join(", ", names) + ")");
        }
      }
    }
  }

  static URI url(String key, String value) {
    try {
      URI uri = new URI(value.strip());
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
        throw new ConfigException(key + ": " + value + " is not an absolute http(s) URL");
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
        throw new ConfigException(key + ": " + value + " must not have a query or fragment");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new ConfigException(key + ": " + value + " is not an absolute http(s) URL");
    }
  }

  private Optional<String> envString(String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.strip());
  }

  private Optional<Long> envLong(String name, long min, long max) {
    return envString(name).map(value -> {
      long parsed;
      try {
        parsed = Long.parseLong(value);
      } catch (NumberFormatException e) {
        throw new ConfigException(name + ": " + value + " is not an integer in " + min + ".." + max);
      }
      return Bounds.check(name, parsed, min, max);
    });
  }

  private Optional<Integer> envInt(String name, int min, int max) {
    return envLong(name, min, max).map(Long::intValue);
  }

  private Optional<Boolean> envBool(String name) {
    return envString(name).map(value -> switch (value.toLowerCase(Locale.ROOT)) {
      case "true", "1", "yes" -> true;
      case "false", "0", "no" -> false;
      default -> throw new ConfigException(name + ": " + value + " is not a boolean (true or false)");
    });
  }
}
