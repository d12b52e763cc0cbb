package dev.sluice.admin;

import dev.sluice.config.AccountingConfig;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.ConfigPatch;
import dev.sluice.config.CooldownConfig;
import dev.sluice.config.FailoverConfig;
import dev.sluice.config.FullPolicy;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.Secret;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.RetreatPolicy;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The hot-reloadable settings as the admin API shows them, in the configuration file's shape: {@code log_level},
 * {@code defaults} (timeouts and {@code retreat}), {@code default_pool} (read-only, {@code null} without one),
 * {@code pools} with their {@code models} (read-only), queue settings, failover settings (read-only; {@code null}
 * where none is set), accounting settings ({@code stream_usage}, {@code default_max_tokens}, {@code quota_errors};
 * read-only) and backends (keys masked as their first four characters and {@code ****}, {@code null}
 * without one; their {@code concurrency} and {@code cooldown} sections read-only), then the earlier sidecar's flat
 * view of the default pool: {@code rate_rpm} (its first backend's), {@code queue_max_size} and
 * {@code fallback_enabled_passthrough}. Read-only settings are shown so that a fetched document can be edited and
 * posted back whole. Stateless.
 */
final class ConfigJson {
  private ConfigJson() {}

  /** One setting that changed, named by its path with pools and backends by name and id. */
  record Change(String key, Object oldValue, Object newValue) {
    Map<String, Object> json() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("key", key);
      m.put("old", oldValue);
      m.put("new", newValue);
      return m;
    }
  }

  static Map<String, Object> view(SluiceConfig config) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("log_level", config.logLevel());
    Map<String, Object> defaults = new LinkedHashMap<>();
    defaults.put("timeout_seconds", config.defaults().timeoutSeconds());
    defaults.put("low_priority_timeout_seconds", config.defaults().lowPriorityTimeoutSeconds());
    defaults.put("retreat", retreat(config.defaults().retreat()));
    m.put("defaults", defaults);
    m.put("default_pool", config.defaultPool().orElse(null));
    m.put("pools", config.pools().stream().map(ConfigJson::pool).toList());
    PoolConfig defaultPool = ConfigPatch.defaultPool(config);
    m.put("rate_rpm", defaultPool.backends().getFirst().rateRpm());
    m.put("queue_max_size", defaultPool.queueMaxSize());
    m.put("fallback_enabled_passthrough", defaultPool.fullPolicy() == FullPolicy.PASSTHROUGH);
    return m;
  }

  static String policy(FullPolicy policy) {
    return policy.name().toLowerCase(Locale.ROOT);
  }

  private static String maskedKey(BackendConfig backend) {
    return backend.apiKey().map(Secret::masked).orElse(null);
  }

  private static Map<String, Object> retreat(RetreatPolicy r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("enabled", r.enabled());
    m.put("window_seconds", r.window().toSeconds());
    m.put("enter_percent", percent(r.enterRatio()));
    m.put("cut_again_percent", percent(r.cutAgainRatio()));
    m.put("alert_percent", percent(r.alertRatio()));
    m.put("recover_below_percent", percent(r.recoverBelowRatio()));
    m.put("recover_after_seconds", r.recoverAfter().toSeconds());
    m.put("floor_rpm", r.floorRpm());
    m.put("min_sample", r.minSample());
    m.put("min_sample_seconds", r.minSampleSpan().toSeconds());
    m.put("recovery_step_rpm", r.recoveryStepRpm());
    m.put("evaluation_interval_seconds", r.evaluationInterval().toSeconds());
    return m;
  }

  private static long percent(double ratio) {
    return Math.round(ratio * 100);
  }

  private static Map<String, Object> pool(PoolConfig pool) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", pool.name());
    m.put("models", pool.models());
    m.put("queue_max_size", pool.queueMaxSize());
    m.put("full_policy", policy(pool.fullPolicy()));
    FailoverConfig failover = pool.failover();
    m.put("max_attempts", failover.maxAttempts());
    m.put("selection", failover.selection().name().toLowerCase(Locale.ROOT));
    m.put("first_byte_timeout_seconds", failover.firstByteTimeoutSeconds().orElse(null));
    m.put("retry_budget_percent", failover.retryBudgetPercent());
    m.put("spill_after_seconds", failover.spillAfterSeconds());
    m.put("fallback_pool", failover.fallbackPool().orElse(null));
    m.put("emergency_upstream", failover.emergencyUpstream().map(URI::toString).orElse(null));
    AccountingConfig accounting = pool.accounting();
    m.put("stream_usage", accounting.streamUsage());
    m.put("default_max_tokens", accounting.defaultMaxTokens());
    Map<String, Object> quotaErrors = new LinkedHashMap<>();
    quotaErrors.put("statuses", accounting.quotaErrors().statuses());
    quotaErrors.put("patterns", accounting.quotaErrors().patterns());
    m.put("quota_errors", quotaErrors);
    m.put("backends", pool.backends().stream().map(ConfigJson::backend).toList());
    return m;
  }

  /** A backend's configured settings, its key masked, as GET /api/admin/config shows them. */
  static Map<String, Object> backend(BackendConfig backend) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", backend.id());
    m.put("base_url", backend.baseUrl().toString());
    m.put("api_key", maskedKey(backend));
    m.put("rate_rpm", backend.rateRpm());
    m.put("capacity", backend.capacity());
    Map<String, Object> concurrency = new LinkedHashMap<>();
    concurrency.put("mode", backend.concurrency().mode().name().toLowerCase(Locale.ROOT));
    concurrency.put("max_concurrent", backend.concurrency().maxConcurrent());
    m.put("concurrency", concurrency);
    CooldownConfig c = backend.cooldown();
    Map<String, Object> cooldown = new LinkedHashMap<>();
    cooldown.put("base_seconds", c.baseSeconds());
    cooldown.put("max_seconds", c.maxSeconds());
    cooldown.put("exponential", c.exponential());
    cooldown.put("precheck_seconds", c.precheckSeconds());
    m.put("cooldown", cooldown);
    return m;
  }

  /**
   * The settings that differ between two configurations, in the order of the document: {@code log_level},
   * {@code defaults.retreat.enter_percent}, {@code pools.nvidia.queue_max_size},
   * {@code pools.nvidia.backends.nv-1.rate_rpm}. The flat view repeats nested settings and is left out.
   */
  static List<Change> changes(SluiceConfig from, SluiceConfig to) {
    Map<String, Object> before = flat(from);
    List<Change> changes = new ArrayList<>();
    flat(to).forEach((key, value) -> {
      Object old = before.get(key);
      if (!Objects.equals(old, value)) {
        changes.add(new Change(key, old, value));
      }
    });
    return changes;
  }

  private static Map<String, Object> flat(SluiceConfig config) {
    Map<String, Object> view = view(config);
    view.remove("rate_rpm");
    view.remove("queue_max_size");
    view.remove("fallback_enabled_passthrough");
    Map<String, Object> flat = new LinkedHashMap<>();
    flatten("", view, flat);
    return flat;
  }

  @SuppressWarnings("unchecked")
  private static void flatten(String prefix, Object value, Map<String, Object> out) {
    if (value instanceof Map<?, ?> map) {
      map.forEach((k, v) -> flatten(prefix + k + ".", v, out));
    } else if (value instanceof List<?> list && !list.isEmpty() && list.getFirst() instanceof Map) {
      // Pools and backends, by name and id; a list of values, such as a pool's models, is one setting.
      for (Object item : list) {
        Map<String, Object> entry = (Map<String, Object>) item;
        Object name = entry.containsKey("name") ? entry.get("name") : entry.get("id");
        flatten(prefix + name + ".", entry, out);
      }
    } else {
      out.put(prefix.substring(0, prefix.length() - 1), value);
    }
  }
}
