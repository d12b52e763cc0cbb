package dev.sluice.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.limit.RetreatPolicy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A change to the running configuration, given as a partial document of the configuration's own shape (as the
 * admin API's {@code POST /api/admin/config} receives it), laid over the configuration in force.
 *
 * <p>Hot-reloadable: {@code log_level}; {@code defaults.timeout_seconds}, {@code defaults.low_priority_timeout_seconds}
 * and {@code defaults.retreat.*}; per pool (matched by {@code name}) {@code queue_max_size} and {@code full_policy};
 * per backend (matched by {@code id} within its pool) {@code rate_rpm} and {@code capacity}. The earlier sidecar's
 * flat keys {@code rate_rpm}, {@code queue_max_size} and {@code fallback_enabled_passthrough} (true: passthrough,
 * false: reject) apply to the default pool (the one named {@code nvidia}, else the first) and its first backend;
 * given together with the nested keys for the same setting, they must agree. A {@code base_url}, {@code api_key},
 * pool's {@code models}, failover settings ({@code max_attempts}, {@code selection},
 * {@code first_byte_timeout_seconds}, {@code retry_budget_percent}, {@code spill_after_seconds},
 * {@code fallback_pool}, {@code emergency_upstream}; {@code null} for none), accounting settings
 * ({@code stream_usage}, {@code default_max_tokens}, {@code quota_errors}), backend's {@code concurrency} or
 * {@code cooldown} section, or {@code default_pool} repeated unchanged (as {@code GET} shows it) is accepted, so a
 * fetched document can be edited and posted back; a value that differs is refused as not hot-reloadable (after the
 * start-up checks of the value itself), every other setting of the file too, and an unknown key as unknown.
 *
 * <p>Values are read by the same readers as the start-up file, so a bad value gets the same message, naming the
 * path in the posted document (e.g. {@code pools[0].queue_max_size: 0 is outside 1..1000000}). The whole document
 * is checked before a result exists: a {@link ConfigException} means nothing changed. Stateless and thread-safe.
 */
public final class ConfigPatch {
  /** Settings of the file that only a restart changes. */
  private static final List<String> FIXED_TOP = List.of("server", "upstream");
  private static final List<String> FIXED_POOL = List.of("aliases", "strip_prefix");
  private static final List<String> FIXED_BACKEND = List.of("api_key_env", "api_key_file", "tpm", "quota");
  private static final String RESTART = "is not hot-reloadable; change it in the configuration and restart Sluice";

  /**
   * The configuration with the change applied.
   *
   * @param config the whole configuration as it is to be from now on
   * @param queueSizeKeys for each pool whose {@code queue_max_size} the document set, the path that set it, for
   *     messages about that value
   */
  public record Result(SluiceConfig config, Map<String, String> queueSizeKeys) {
    public Result {
      queueSizeKeys = Map.copyOf(queueSizeKeys);
    }
  }

  private ConfigPatch() {}

  /**
   * Lays {@code document} over {@code current}.
   *
   * @throws ConfigException naming the first bad key of the document; nothing is changed
   */
  public static Result apply(JsonNode document, SluiceConfig current) {
    if (document == null || !document.isObject()) {
      throw new ConfigException("config", "expected a JSON object of the configuration's shape");
    }
    Section top = Section.root(document);
    for (String key : FIXED_TOP) {
      refuseFixed(top, key);
    }
    top.string("default_pool").filter(name -> !current.defaultPool().equals(Optional.of(name)))
        .ifPresent(name -> refuseFixed(top, "default_pool"));
    String logLevel = top.string("log_level").map(v -> EnvironmentLayer.logLevel(top.path("log_level"), v))
        .orElse(current.logLevel());
    DefaultsConfig defaults = top.section("defaults").map(d -> defaults(d, current.defaults()))
        .orElse(current.defaults());

    Map<String, PoolEdit> edits = new LinkedHashMap<>();
    for (Section p : top.sections("pools")) {
      poolEdit(p, current, edits);
    }
    flatKeys(top, current, edits);
    top.finish();

    List<PoolConfig> pools = new ArrayList<>();
    Map<String, String> queueSizeKeys = new HashMap<>();
    for (PoolConfig pool : current.pools()) {
      PoolEdit edit = edits.get(pool.name());
      if (edit == null) {
        pools.add(pool);
        continue;
      }
      if (edit.queueMaxSize != null) {
        queueSizeKeys.put(pool.name(), edit.queueMaxSizeKey);
      }
      List<BackendConfig> backends = pool.backends().stream().map(b -> {
        BackendEdit e = edit.backends.get(b.id());
        return e == null ? b : new BackendConfig(b.id(), b.baseUrl(), b.apiKey(),
            e.rateRpm != null ? e.rateRpm : b.rateRpm(), e.capacity != null ? e.capacity : b.capacity(),
            b.concurrency(), b.cooldown(), b.quota(), b.tpm(), b.raiseRateFromHeaders());
      }).toList();
      pools.add(new PoolConfig(pool.name(), pool.aliases(), pool.models(), pool.stripPrefix(),
          edit.queueMaxSize != null ? edit.queueMaxSize : pool.queueMaxSize(),
          edit.fullPolicy != null ? edit.fullPolicy : pool.fullPolicy(), pool.failover(), pool.accounting(),
          backends));
    }
    return new Result(new SluiceConfig(current.server(), defaults, current.defaultUpstream(), pools,
        current.defaultPool(), logLevel, current.adminToken()), queueSizeKeys);
  }

  /**
   * The pool whose settings the earlier sidecar's flat keys change: the one named {@code nvidia}, else the first.
   */
  public static PoolConfig defaultPool(SluiceConfig config) {
    return config.pools().stream().filter(p -> p.name().equals(SluiceConfig.DEFAULT_POOL_NAME)).findFirst()
        .orElse(config.pools().getFirst());
  }

  private static DefaultsConfig defaults(Section d, DefaultsConfig current) {
    int timeout = DefaultsReader.timeoutSeconds(d).orElse(current.timeoutSeconds());
    int lowTimeout = DefaultsReader.lowPriorityTimeoutSeconds(d).orElse(current.lowPriorityTimeoutSeconds());
    RetreatPolicy retreat = d.section("retreat").map(r -> DefaultsReader.retreatChange(r, current.retreat()))
        .orElse(current.retreat());
    d.finish();
    return new DefaultsConfig(timeout, lowTimeout, retreat);
  }

  private static void poolEdit(Section p, SluiceConfig current, Map<String, PoolEdit> edits) {
    String name = p.string("name").orElseThrow(() ->
        new ConfigException(p.path("name"), "is required: pools are matched by name"));
    PoolConfig pool = current.pools().stream().filter(x -> x.name().equals(name)).findFirst().orElseThrow(() ->
        new ConfigException(p.path("name"), name + " is not a pool of this Sluice (one of "
            + String.join(", ", current.pools().stream().map(PoolConfig::name).toList()) + ")"));
    if (edits.containsKey(name)) {
      throw new ConfigException(p.path("name"), name + " is given twice");
    }
    for (String key : FIXED_POOL) {
      refuseFixed(p, key);
    }
    p.strings("models").filter(models -> !models.equals(pool.models()))
        .ifPresent(models -> refuseFixed(p, "models"));
    unchangedFailover(p, pool.failover());
    unchangedAccounting(p, pool.accounting());
    PoolEdit edit = new PoolEdit();
    edit.queueMaxSize = PoolReader.queueMaxSize(p).orElse(null);
    edit.queueMaxSizeKey = p.path("queue_max_size");
    edit.fullPolicy = PoolReader.fullPolicy(p).orElse(null);
    edit.fullPolicyKey = p.path("full_policy");
    for (Section b : p.sections("backends")) {
      String id = b.string("id").orElseThrow(() ->
          new ConfigException(b.path("id"), "is required: backends are matched by id"));
      BackendConfig backend = pool.backends().stream().filter(x -> x.id().equals(id)).findFirst().orElseThrow(() ->
          new ConfigException(b.path("id"), id + " is not a backend of pool " + name + " (one of "
              + String.join(", ", pool.backends().stream().map(BackendConfig::id).toList()) + ")"));
      if (edit.backends.containsKey(id)) {
        throw new ConfigException(b.path("id"), id + " is given twice");
      }
      for (String key : FIXED_BACKEND) {
        refuseFixed(b, key);
      }
      b.string("base_url").filter(url -> !url.equals(backend.baseUrl().toString()))
          .ifPresent(url -> refuseFixed(b, "base_url"));
      b.string("api_key").filter(key -> !key.equals(backend.apiKey().map(Secret::masked).orElse(null)))
          .ifPresent(key -> refuseFixed(b, "api_key"));
      b.section("concurrency").ifPresent(c -> {
        ConcurrencyConfig posted = PoolReader.concurrency(c, backend.concurrency());
        String hint = "is not hot-reloadable here; change it with PATCH /api/admin/adaptive/keys/" + id
            + "/mode (until a restart), or in the configuration and restart Sluice";
        unchanged(c, "mode", posted.mode(), backend.concurrency().mode(), hint);
        unchanged(c, "max_concurrent", posted.maxConcurrent(), backend.concurrency().maxConcurrent(), hint);
      });
      b.section("cooldown").ifPresent(c -> {
        CooldownConfig posted = PoolReader.cooldown(c, backend.cooldown());
        CooldownConfig now = backend.cooldown();
        unchanged(c, "base_seconds", posted.baseSeconds(), now.baseSeconds(), RESTART);
        unchanged(c, "max_seconds", posted.maxSeconds(), now.maxSeconds(), RESTART);
        unchanged(c, "exponential", posted.exponential(), now.exponential(), RESTART);
        unchanged(c, "precheck_seconds", posted.precheckSeconds(), now.precheckSeconds(), RESTART);
      });
      BackendEdit backendEdit = new BackendEdit();
      backendEdit.rateRpm = PoolReader.rateRpm(b).orElse(null);
      backendEdit.rateRpmKey = b.path("rate_rpm");
      backendEdit.capacity = PoolReader.capacity(b).orElse(null);
      b.finish();
      edit.backends.put(id, backendEdit);
    }
    p.finish();
    edits.put(name, edit);
  }

  /**
   * The earlier sidecar's flat keys. {@code GET} shows them next to the nested settings they mirror, so a value
   * equal to what {@code GET} shows for the configuration in force is a fetched document coming back: it changes
   * nothing and yields to the nested key. Only a flat value that differs is applied, and a nested key for the same
   * setting that differs from the configuration in force too must agree with it.
   */
  private static void flatKeys(Section top, SluiceConfig current, Map<String, PoolEdit> edits) {
    PoolConfig pool = defaultPool(current);
    BackendConfig first = pool.backends().getFirst();
    Optional<Integer> rate = PoolReader.rateRpm(top).filter(v -> v != first.rateRpm());
    Optional<Integer> queue = PoolReader.queueMaxSize(top).filter(v -> v != pool.queueMaxSize());
    boolean passthroughNow = pool.fullPolicy() == FullPolicy.PASSTHROUGH;
    Optional<Boolean> passthrough = top.bool("fallback_enabled_passthrough").filter(v -> v != passthroughNow);
    if (rate.isEmpty() && queue.isEmpty() && passthrough.isEmpty()) {
      return;
    }
    PoolEdit edit = edits.computeIfAbsent(pool.name(), name -> new PoolEdit());
    if (queue.isPresent()) {
      if (edit.queueMaxSize != null && edit.queueMaxSize != pool.queueMaxSize()) {
        agree(top.path("queue_max_size"), queue.get(), edit.queueMaxSizeKey, edit.queueMaxSize);
      }
      edit.queueMaxSize = queue.get();
      edit.queueMaxSizeKey = top.path("queue_max_size");
    }
    if (passthrough.isPresent()) {
      FullPolicy flat = passthrough.get() ? FullPolicy.PASSTHROUGH : FullPolicy.REJECT;
      if (edit.fullPolicy != null && edit.fullPolicy != pool.fullPolicy()) {
        // false means "not passthrough": a nested reject or drop_lowest agrees with it, and is the one applied.
        if ((edit.fullPolicy == FullPolicy.PASSTHROUGH) != passthrough.get()) {
          agree(top.path("fallback_enabled_passthrough"), flat, edit.fullPolicyKey, edit.fullPolicy);
        }
      } else {
        edit.fullPolicy = flat;
      }
    }
    if (rate.isPresent()) {
      BackendEdit backend = edit.backends.computeIfAbsent(first.id(), id -> new BackendEdit());
      if (backend.rateRpm != null && backend.rateRpm != first.rateRpm()) {
        agree(top.path("rate_rpm"), rate.get(), backend.rateRpmKey, backend.rateRpm);
      }
      backend.rateRpm = rate.get();
    }
  }

  private static void agree(String flatKey, Object flatValue, String nestedKey, Object nestedValue) {
    if (!Objects.equals(flatValue, nestedValue)) {
      throw new ConfigException(flatKey, shown(flatValue) + " contradicts " + nestedKey + ": "
          + shown(nestedValue));
    }
  }

  private static String shown(Object value) {
    return value instanceof FullPolicy policy ? policy.name().toLowerCase(Locale.ROOT) : String.valueOf(value);
  }

  private static void refuseFixed(Section s, String key) {
    if (s.has(key)) {
      throw new ConfigException(s.path(key), RESTART);
    }
  }

  /**
   * The pool's failover settings, read with the start-up checks over the ones in force, must be the ones in force.
   */
  private static void unchangedFailover(Section p, FailoverConfig now) {
    FailoverConfig posted = PoolReader.failover(p, now);
    unchanged(p, "max_attempts", posted.maxAttempts(), now.maxAttempts(), RESTART);
    unchanged(p, "selection", posted.selection(), now.selection(), RESTART);
    unchanged(p, "first_byte_timeout_seconds", posted.firstByteTimeoutSeconds(), now.firstByteTimeoutSeconds(),
        RESTART);
    unchanged(p, "retry_budget_percent", posted.retryBudgetPercent(), now.retryBudgetPercent(), RESTART);
    unchanged(p, "spill_after_seconds", posted.spillAfterSeconds(), now.spillAfterSeconds(), RESTART);
    unchanged(p, "fallback_pool", posted.fallbackPool(), now.fallbackPool(), RESTART);
    unchanged(p, "emergency_upstream", posted.emergencyUpstream(), now.emergencyUpstream(), RESTART);
  }

  /** The pool's accounting settings, read with the start-up checks over the ones in force, must be those. */
  private static void unchangedAccounting(Section p, AccountingConfig now) {
    AccountingConfig posted = PoolReader.accounting(p, now);
    unchanged(p, "stream_usage", posted.streamUsage(), now.streamUsage(), RESTART);
    unchanged(p, "default_max_tokens", posted.defaultMaxTokens(), now.defaultMaxTokens(), RESTART);
    unchanged(p, "quota_errors", posted.quotaErrors(), now.quotaErrors(), RESTART);
  }

  private static void unchanged(Section s, String key, Object posted, Object now, String message) {
    if (!Objects.equals(posted, now)) {
      throw new ConfigException(s.path(key), message);
    }
  }

  /** What the document sets for one pool; null where it sets nothing. */
  private static final class PoolEdit {
    Integer queueMaxSize;
    String queueMaxSizeKey;
    FullPolicy fullPolicy;
    String fullPolicyKey;
    final Map<String, BackendEdit> backends = new LinkedHashMap<>();
  }

  /** What the document sets for one backend; null where it sets nothing. */
  private static final class BackendEdit {
    Integer rateRpm;
    String rateRpmKey;
    Integer capacity;
  }
}
