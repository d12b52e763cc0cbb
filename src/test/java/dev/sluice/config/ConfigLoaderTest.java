package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.RetreatPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {

  private static SluiceConfig env(Map<String, String> env) {
    return new ConfigLoader(env).load();
  }

  private static SluiceConfig yaml(String yaml, Map<String, String> env) {
    return new ConfigLoader(env).loadYaml(yaml, Path.of("."));
  }

  @Test
  void defaultsMatchTheEarlierSidecar() {
    SluiceConfig config = env(Map.of());
    assertThat(config.server())
        .isEqualTo(new ServerConfig("127.0.0.1", 9190, 9191, 10L * 1024 * 1024, 1024, 4096, true, "./data/sluice.db"));
    assertThat(config.defaults()).isEqualTo(new DefaultsConfig(60, 2, RetreatPolicy.defaults()));
    assertThat(config.defaultUpstream()).hasToString("https://integrate.api.nvidia.com/v1");
    assertThat(config.logLevel()).isEqualTo("INFO");
    assertThat(config.pools()).singleElement().satisfies(pool -> {
      assertThat(pool.name()).isEqualTo("nvidia");
      assertThat(pool.aliases()).containsExactly("nvidia", "nvidia-gateway", "nvidiavx");
      assertThat(pool.queueMaxSize()).isEqualTo(500);
      assertThat(pool.fullPolicy()).isEqualTo(FullPolicy.PASSTHROUGH);
      assertThat(pool.backends()).singleElement().satisfies(backend -> {
        assertThat(backend.baseUrl()).hasToString("https://integrate.api.nvidia.com/v1");
        assertThat(backend.apiKey()).isEmpty();
        assertThat(backend.rateRpm()).isEqualTo(40);
        assertThat(backend.capacity()).isEqualTo(40);
      });
    });
  }

  @Test
  void environmentBuildsTheDefaultPool() {
    SluiceConfig config = env(Map.of(
        "SIDECAR_UPSTREAM", "http://127.0.0.1:9300/v1", "SIDECAR_API_KEY", "nvapi-secret-123",
        "SIDECAR_RATE_RPM", "600", "SIDECAR_BUCKET_CAPACITY", "10", "SIDECAR_QUEUE_MAX", "7",
        "SIDECAR_FALLBACK_PASSTHROUGH", "false", "SIDECAR_TIMEOUT", "5", "SIDECAR_LOW_TIMEOUT", "3",
        "SIDECAR_LOG_LEVEL", "debug", "SIDECAR_PORT", "0"));
    PoolConfig pool = config.pools().getFirst();
    BackendConfig backend = pool.backends().getFirst();
    assertThat(backend.baseUrl()).hasToString("http://127.0.0.1:9300/v1");
    assertThat(backend.apiKey()).map(Secret::reveal).contains("nvapi-secret-123");
    assertThat(backend.rateRpm()).isEqualTo(600);
    assertThat(backend.capacity()).isEqualTo(10);
    assertThat(pool.queueMaxSize()).isEqualTo(7);
    assertThat(pool.fullPolicy()).isEqualTo(FullPolicy.REJECT);
    assertThat(config.defaults()).isEqualTo(new DefaultsConfig(5, 3, RetreatPolicy.defaults()));
    assertThat(config.logLevel()).isEqualTo("DEBUG");
    assertThat(config.server().port()).isZero();
  }

  @ParameterizedTest(name = "{0}={1}")
  @CsvSource(delimiter = '|', textBlock = """
      SIDECAR_PORT            | 70000 | SIDECAR_PORT: 70000 is outside 0..65535
      SIDECAR_PORT            | abc   | SIDECAR_PORT: abc is not an integer in 0..65535
      SIDECAR_RATE_RPM        | 0     | SIDECAR_RATE_RPM: 0 is outside 1..100000
      SIDECAR_BUCKET_CAPACITY | -1    | SIDECAR_BUCKET_CAPACITY: -1 is outside 1..100000
      SIDECAR_TIMEOUT         | 0     | SIDECAR_TIMEOUT: 0 is outside 1..3600
      SIDECAR_QUEUE_MAX       | 0     | SIDECAR_QUEUE_MAX: 0 is outside 1..1000000
      SIDECAR_LOW_TIMEOUT     | 9999  | SIDECAR_LOW_TIMEOUT: 9999 is outside 1..3600
      SIDECAR_MAX_BODY_BYTES  | 10    | SIDECAR_MAX_BODY_BYTES: 10 is outside 1024..1073741824
      SIDECAR_FALLBACK_PASSTHROUGH | maybe | SIDECAR_FALLBACK_PASSTHROUGH: maybe is not a boolean (true or false)
      SIDECAR_LOG_LEVEL       | LOUD  | SIDECAR_LOG_LEVEL: LOUD is not one of TRACE, DEBUG, INFO, WARN, ERROR, OFF
      SIDECAR_UPSTREAM        | ftp://x/v1 | SIDECAR_UPSTREAM: ftp://x/v1 is not an absolute http(s) URL
      SIDECAR_UPSTREAM        | not a url  | SIDECAR_UPSTREAM: not a url is not an absolute http(s) URL
      """)
  void invalidEnvironmentValueIsRejectedWithKeyValueAndRange(String name, String value, String message) {
    assertThatThrownBy(() -> env(Map.of(name, value)))
        .isInstanceOf(ConfigException.class).hasMessage(message);
  }

  @Test
  void yamlDeclaresPoolsAndBackends(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("key.txt"), "sk-file-key\n");
    String text = """
        server: {host: 0.0.0.0, port: 9290, metrics_port: 9291}
        defaults: {timeout_seconds: 30, low_priority_timeout_seconds: 4}
        upstream: http://127.0.0.1:9300/v1
        pools:
          - name: nvidia
            aliases: [NVIDIA, nvidia-gateway]
            strip_prefix: true
            queue_max_size: 50
            full_policy: drop_lowest
            max_attempts: 2
            fallback_pool: openai
            emergency_upstream: http://127.0.0.1:9400/v1
            backends:
              - id: nv-1
                base_url: http://127.0.0.1:9300/v1
                api_key_env: NV_KEY
                rate_rpm: 600
                capacity: 10
                concurrency: {mode: adaptive}
                cooldown: {base_seconds: 3, max_seconds: 60, exponential: false, precheck_seconds: 1}
                quota: {budget_tokens: 2000000, window_hours: 5, threshold_percent: 95, probe_interval_seconds: 120}
          - name: openai
            aliases: [openai]
            backends:
              - {id: oa-1, base_url: "https://api.openai.com/v1", api_key_file: key.txt}
        """;
    SluiceConfig config = new ConfigLoader(Map.of("NV_KEY", "nvapi-123", "SIDECAR_ADMIN_TOKEN", "t0ken-0123456789"))
        .loadYaml(text, dir);
    assertThat(config.server().host()).isEqualTo("0.0.0.0");
    assertThat(config.server().port()).isEqualTo(9290);
    assertThat(config.defaults()).isEqualTo(new DefaultsConfig(30, 4, RetreatPolicy.defaults()));
    PoolConfig nvidia = config.pools().get(0);
    assertThat(nvidia.aliases()).containsExactly("nvidia", "nvidia-gateway");
    assertThat(nvidia.stripPrefix()).isTrue();
    assertThat(nvidia.fullPolicy()).isEqualTo(FullPolicy.DROP_LOWEST);
    assertThat(nvidia.failover().fallbackPool()).contains("openai");
    BackendConfig nv1 = nvidia.backends().getFirst();
    assertThat(nv1.apiKey()).map(Secret::reveal).contains("nvapi-123");
    assertThat(nv1.concurrency().mode()).isEqualTo(ConcurrencyConfig.Mode.ADAPTIVE);
    assertThat(nv1.cooldown()).isEqualTo(new CooldownConfig(3, 60, false, 1));
    assertThat(nv1.quota()).contains(new QuotaConfig(2_000_000, 300, 95, 120));
    assertThat(config.pools().get(1).backends().getFirst().apiKey()).map(Secret::reveal).contains("sk-file-key");
  }

  @ParameterizedTest(name = "{1}")
  @CsvSource(delimiter = '|', textBlock = """
      server: {port: 9190, colour: blue}                         | server.colour: unknown key
      surprise: 1                                                | surprise: unknown key
      server: {port: 99999}                                      | server.port: 99999 is outside 0..65535
      defaults: {timeout_seconds: 0}                             | defaults.timeout_seconds: 0 is outside 1..3600
      defaults: {timeout_seconds: soon}                          | defaults.timeout_seconds: "soon" is not an integer in 1..3600
      'pools: [{name: a, backends: [{id: b, base_url: "http://h/v1", rate_rpm: 0}]}]' | pools[0].backends[0].rate_rpm: 0 is outside 1..100000
      'pools: [{name: a, backends: [{id: b, base_url: "http://h/v1", speed: 3}]}]' | pools[0].backends[0].speed: unknown key
      'pools: [{name: a, full_policy: shove, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].full_policy: shove is not one of passthrough, reject, drop_lowest
      'pools: [{name: a, backends: []}]'                         | pools[0].backends: a pool needs at least one backend
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", api_key: sk-x}]}]' | pools[0].backends[0].api_key: keys are never written inline; use api_key_env or api_key_file
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", api_key_env: MISSING_KEY}]}]' | pools[0].backends[0].api_key_env: environment variable MISSING_KEY is not set
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", concurrency: {max_concurrent: 101}}]}]' | pools[0].backends[0].concurrency.max_concurrent: 101 is outside 1..100
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", cooldown: {base_seconds: 10, max_seconds: 5}}]}]' | pools[0].backends[0].cooldown.max_seconds: 5 is outside 10..86400
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", tpm: 0}]}]' | pools[0].backends[0].tpm: 0 is outside 1..100000000
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", quota: {budget_tokens: 9, window_hours: 1, window_minutes: 10}}]}]' | pools[0].backends[0].quota.window_minutes: cannot be combined with window_hours
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", quota: {budget_tokens: 9, window_minutes: 10081}}]}]' | pools[0].backends[0].quota.window_minutes: 10081 is outside 1..10080
      'pools: [{name: a, backends: [{id: b, base_url: "http://h", quota: {window_hours: 5}}]}]' | pools[0].backends[0].quota.budget_tokens: is required
      'server: {db_path: ""}'                                    | server.db_path: must not be empty
      'pools: [{name: a, backends: [{id: b, base_url: "http://h"}]}, {name: a, backends: [{id: c, base_url: "http://h"}]}]' | pools[1].name: a is declared twice
      'pools: [{name: a, backends: [{id: b, base_url: "http://h"}]}, {name: c, aliases: [a], backends: [{id: d, base_url: "http://h"}]}]' | pools[1].aliases: a is claimed by pool a and by pool c; an alias belongs to one pool
      'pools: [{name: a, models: [gpt-4o], backends: [{id: b, base_url: "http://h"}]}, {name: c, models: [gpt-4o-mini, gpt-4o], backends: [{id: d, base_url: "http://h"}]}]' | pools[1].models[1]: gpt-4o is claimed by pool a and by pool c; a model name or glob belongs to one pool
      'pools: [{name: a, models: ["meta/*"], backends: [{id: b, base_url: "http://h"}]}, {name: c, models: ["meta/*"], backends: [{id: d, base_url: "http://h"}]}]' | pools[1].models[0]: meta/* is claimed by pool a and by pool c; a model name or glob belongs to one pool
      'pools: [{name: a, models: [gpt-4o, ""], backends: [{id: b, base_url: "http://h"}]}]' | pools[0].models[1]: expected a non-empty string, got ""
      'pools: [{name: a, models: [gpt-4o, 7], backends: [{id: b, base_url: "http://h"}]}]' | pools[0].models[1]: expected a non-empty string, got 7
      'pools: [{name: a, models: gpt-4o, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].models: expected a list of strings, got "gpt-4o"
      'pools: [{name: a, models: ["gpt 4o"], backends: [{id: b, base_url: "http://h"}]}]' | pools[0].models[0]: "gpt 4o" contains whitespace; a model name or glob has none
      'pools: [{name: a, models: ["gpt-4o\t"], backends: [{id: b, base_url: "http://h"}]}]' | pools[0].models[0]: "gpt-4o\t" contains whitespace; a model name or glob has none
      '{default_pool: b, pools: [{name: a, backends: [{id: b, base_url: "http://h"}]}, {name: c, backends: [{id: d, base_url: "http://h"}]}]}' | default_pool: b must name a declared pool (one of a, c)
      'default_pool: openai'                                     | default_pool: openai must name a declared pool (one of nvidia)
      'pools: [{name: a, backends: [{id: b, base_url: "http://h"}, {id: b, base_url: "http://h"}]}]' | pools[0].backends[1].id: b is declared twice
      'pools: [{name: a, fallback_pool: a, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].fallback_pool: a must name another declared pool (one of a)
      'pools: [{name: a, stream_usage: yes please, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].stream_usage: "yes please" is not a boolean (true or false)
      'pools: [{name: a, default_max_tokens: 0, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].default_max_tokens: 0 is outside 1..1000000
      'pools: [{name: a, default_max_tokens: 1000001, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].default_max_tokens: 1000001 is outside 1..1000000
      'pools: [{name: a, quota_errors: {statuses: [429, 99]}, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].quota_errors.statuses[1]: 99 is outside 100..599
      'pools: [{name: a, quota_errors: {statuses: [429, "402"]}, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].quota_errors.statuses[1]: "402" is not an integer in 100..599
      'pools: [{name: a, quota_errors: {statuses: 429}, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].quota_errors.statuses: expected a list of integers in 100..599, got 429
      'pools: [{name: a, quota_errors: {patterns: [quota, ""]}, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].quota_errors.patterns[1]: expected a non-empty string, got ""
      'pools: [{name: a, quota_errors: {codes: [1]}, backends: [{id: b, base_url: "http://h"}]}]' | pools[0].quota_errors.codes: unknown key
      '[1, 2]'                                                   | config file: expected a mapping of server, defaults, upstream and pools at the top
      """)
  void invalidYamlIsRejectedWithPathValueAndRange(String text, String message) {
    assertThatThrownBy(() -> yaml(text, Map.of())).isInstanceOf(ConfigException.class).hasMessage(message);
  }

  @Test
  void accountingSettingsDefaultAndMayBeSetPerPool() {
    SluiceConfig config = yaml("""
        pools:
          - name: nvidia
            backends: [{id: nv-1, base_url: "http://h/v1"}]
          - name: gemini
            stream_usage: false
            default_max_tokens: 4096
            quota_errors: {patterns: [PerDay, "quota exceeded"]}
            backends: [{id: g-1, base_url: "http://h/v1"}]
          - name: none
            quota_errors: {statuses: [], patterns: []}
            backends: [{id: n-1, base_url: "http://h/v1"}]
        """, Map.of());
    assertThat(config.pools().get(0).accounting()).isEqualTo(AccountingConfig.defaults());
    assertThat(env(Map.of()).pools().getFirst().accounting()).isEqualTo(AccountingConfig.defaults());
    assertThat(config.pools().get(1).accounting()).isEqualTo(new AccountingConfig(false, 4096,
        new AccountingConfig.QuotaErrors(List.of(400, 402, 403, 429), List.of("PerDay", "quota exceeded"))));
    assertThat(config.pools().get(2).accounting().quotaErrors())
        .isEqualTo(new AccountingConfig.QuotaErrors(List.of(), List.of()));
  }

  @Test
  void poolsClaimModelsByExactNameAndGlobAndDefaultPoolTakesTheRest() {
    SluiceConfig config = yaml("""
        default_pool: nvidia
        pools:
          - name: nvidia
            backends: [{id: nv-1, base_url: "http://h/v1"}]
          - name: openai
            models: [gpt-4o, "gpt-4o-*", "meta/llama-?"]
            backends: [{id: oa-1, base_url: "http://h/v1"}]
        """, Map.of());
    assertThat(config.defaultPool()).contains("nvidia");
    assertThat(config.pools().get(0).models()).isEmpty();
    assertThat(config.pools().get(1).models()).containsExactly("gpt-4o", "gpt-4o-*", "meta/llama-?");
  }

  @Test
  void aQuotaWindowMayBeGivenInMinutesAndTokenLimitsAreRead() {
    SluiceConfig config = yaml("""
        pools:
          - name: a
            backends:
              - {id: b, base_url: "http://h", tpm: 40000, raise_rate_from_headers: true,
                 quota: {budget_tokens: 500000, window_minutes: 10, probe_interval_seconds: 30}}
              - {id: c, base_url: "http://h", quota: {budget_tokens: 9}}
        """, Map.of());
    var backends = config.pools().getFirst().backends();
    assertThat(backends.get(0).quota()).contains(new QuotaConfig(500_000, 10, 99, 30));
    assertThat(backends.get(0).tpm()).isEqualTo(40_000);
    assertThat(backends.get(0).raiseRateFromHeaders()).isTrue();
    assertThat(backends.get(1).quota()).contains(new QuotaConfig(9, 300, 99, 300));
    assertThat(backends.get(1).tpm()).isZero();
    assertThat(backends.get(1).raiseRateFromHeaders()).isFalse();
  }

  @Test
  void theStateStoreFileComesFromTheEnvironmentOverTheFile() {
    assertThat(env(Map.of()).server().dbPath()).isEqualTo("./data/sluice.db");
    assertThat(yaml("server: {db_path: /var/lib/sluice/state.db}", Map.of()).server().dbPath())
        .isEqualTo("/var/lib/sluice/state.db");
    assertThat(yaml("server: {db_path: /var/lib/sluice/state.db}", Map.of("SIDECAR_DB_PATH", ":memory:")).server()
        .dbPath()).isEqualTo(":memory:");
  }

  @Test
  void withoutAFileThereAreNoModelClaimsAndNoDefaultPool() {
    SluiceConfig config = env(Map.of());
    assertThat(config.defaultPool()).isEmpty();
    assertThat(config.pools().getFirst().models()).isEmpty();
  }

  @Test
  void aModelNameOrGlobOverTheLengthLimitIsRefused() {
    String pool = "pools: [{name: a, models: [%s], backends: [{id: b, base_url: \"http://h\"}]}]";
    String longest = "a".repeat(256);
    assertThat(yaml(pool.formatted(longest), Map.of()).pools().getFirst().models()).containsExactly(longest);
    assertThatThrownBy(() -> yaml(pool.formatted("m".repeat(257)), Map.of())).isInstanceOf(ConfigException.class)
        .hasMessage("pools[0].models[0]: " + "m".repeat(40) + "... is 257 characters long; a model name or glob"
            + " has 1..256");
  }

  @Test
  void environmentOverridesTheFile() {
    SluiceConfig config = yaml("server: {port: 9290}\ndefaults: {timeout_seconds: 30}\n",
        Map.of("SIDECAR_PORT", "9390", "SIDECAR_TIMEOUT", "7"));
    assertThat(config.server().port()).isEqualTo(9390);
    assertThat(config.defaults().timeoutSeconds()).isEqualTo(7);
  }

  @Test
  void poolVariablesOverrideTheFilesNvidiaPool() {
    SluiceConfig config = yaml("""
        pools:
          - name: nvidia
            backends: [{id: nv-1, base_url: "http://h/v1", rate_rpm: 40}]
        """, Map.of("SIDECAR_RATE_RPM", "90", "SIDECAR_API_KEY", "nvapi-env"));
    BackendConfig backend = config.pools().getFirst().backends().getFirst();
    assertThat(backend.rateRpm()).isEqualTo(90);
    assertThat(backend.apiKey()).map(Secret::reveal).contains("nvapi-env");
  }

  @Test
  void poolVariableWithoutAnNvidiaPoolInTheFileIsAContradiction() {
    assertThatThrownBy(() -> yaml("pools: [{name: openai, backends: [{id: o, base_url: \"http://h\"}]}]",
        Map.of("SIDECAR_RATE_RPM", "90")))
        .hasMessage("SIDECAR_RATE_RPM: is set, but the config file declares no pool named nvidia for it to apply to");
  }

  @Test
  void missingConfigFileIsNamed() {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(Path.of("/nonexistent/sluice.yaml")))
        .hasMessage("--config: file /nonexistent/sluice.yaml does not exist");
  }

  @Test
  void invalidYamlSyntaxIsOneLineNamingLineAndColumn() {
    assertThatThrownBy(() -> yaml("server: {port: 9190\npools:\n  - name: x\n", Map.of()))
        .isInstanceOf(ConfigException.class).hasMessage("config file is not valid YAML: line 2, column 6: "
            + "expected ',' or '}', but got : (while parsing a flow mapping)");
    assertThatThrownBy(() -> yaml("a: b: c\n", Map.of()))
        .hasMessage("config file is not valid YAML: line 1, column 5: mapping values are not allowed here");
  }

  @Test
  void equalPortsNameTheSettingsTheyCameFrom() {
    assertThatThrownBy(() -> env(Map.of("SIDECAR_PORT", "9191")))
        .hasMessage("server.metrics_port: 9191 must differ from SIDECAR_PORT (9191); any other port in 0..65535");
    assertThatThrownBy(() -> env(Map.of("SIDECAR_METRICS_PORT", "9190")))
        .hasMessage("SIDECAR_METRICS_PORT: 9190 must differ from server.port (9190); any other port in 0..65535");
    assertThatThrownBy(() -> yaml("server: {port: 8000, metrics_port: 8000}\n", Map.of()))
        .hasMessage("server.metrics_port: 8000 must differ from server.port (8000); any other port in 0..65535");
    assertThatThrownBy(() -> yaml("server: {metrics_port: 8000}\n", Map.of("SIDECAR_PORT", "8000")))
        .hasMessage("server.metrics_port: 8000 must differ from SIDECAR_PORT (8000); any other port in 0..65535");
  }

  @Test
  void metricsAreOnUnlessSwitchedOffByFileOrEnvironment() {
    assertThat(env(Map.of()).server().metricsEnabled()).isTrue();
    assertThat(env(Map.of("SIDECAR_METRICS_ENABLED", "false")).server().metricsEnabled()).isFalse();
    assertThat(yaml("server: {metrics_enabled: false}\n", Map.of()).server().metricsEnabled()).isFalse();
    assertThat(yaml("server: {metrics_enabled: false}\n", Map.of("SIDECAR_METRICS_ENABLED", "true")).server()
        .metricsEnabled()).isTrue();
  }

  @Test
  void invalidMetricsSwitchNamesKeyAndValue() {
    assertThatThrownBy(() -> env(Map.of("SIDECAR_METRICS_ENABLED", "sometimes")))
        .hasMessage("SIDECAR_METRICS_ENABLED: sometimes is not a boolean (true or false)");
    assertThatThrownBy(() -> yaml("server: {metrics_enabled: 1}\n", Map.of()))
        .hasMessage("server.metrics_enabled: 1 is not a boolean (true or false)");
  }

  @Test
  void withMetricsOffTheMetricsPortMayEqualTheProxyPort() {
    SluiceConfig config = env(Map.of("SIDECAR_PORT", "9191", "SIDECAR_METRICS_ENABLED", "false"));
    assertThat(config.server().port()).isEqualTo(9191);
  }

  @Test
  void secretsAreMaskedInToString() {
    SluiceConfig config = env(Map.of("SIDECAR_API_KEY", "nvapi-very-secret", "SIDECAR_ADMIN_TOKEN", "admin-secret"));
    assertThat(config.toString()).doesNotContain("very-secret").doesNotContain("admin-secret").contains("nvap****");
  }

  @Test
  void retreatThresholdsAreReadFromDefaults(@TempDir Path dir) {
    SluiceConfig config = new ConfigLoader(Map.of()).loadYaml("""
        upstream: http://127.0.0.1:1/v1
        defaults:
          retreat: {enabled: true, window_seconds: 30, recover_below_percent: 1, enter_percent: 4,
                    cut_again_percent: 8, alert_percent: 25, recover_after_seconds: 90, floor_rpm: 3,
                    min_sample: 10, min_sample_seconds: 15, recovery_step_rpm: 5, evaluation_interval_seconds: 20}
        """, dir);

    assertThat(config.defaults().retreat()).isEqualTo(new RetreatPolicy(true, java.time.Duration.ofSeconds(30),
        0.04, 0.08, 0.25, 0.01, java.time.Duration.ofSeconds(90), 3, 10, java.time.Duration.ofSeconds(15), 5,
        java.time.Duration.ofSeconds(20)));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{enter_percent: 10, cut_again_percent: 5} | defaults.retreat.cut_again_percent: 5 is outside 10..100",
      "{floor_rpm: 0} | defaults.retreat.floor_rpm: 0 is outside 1..100000",
      "{window_seconds: 30, min_sample_seconds: 40} | defaults.retreat.min_sample_seconds: 40 is outside 1..30",
      "{cut: 3} | defaults.retreat.cut: unknown key"})
  void badRetreatThresholdsNameTheKeyAndRange(String retreat, String message, @TempDir Path dir) {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadYaml("""
        upstream: http://127.0.0.1:1/v1
        defaults:
          retreat: %s
        """.formatted(retreat), dir)).isInstanceOf(ConfigException.class).hasMessage(message);
  }

  private static SluiceConfig backendWithKeyFile(String keyFile, Path dir) {
    return new ConfigLoader(Map.of()).loadYaml("""
        pools: [{name: a, backends: [{id: b, base_url: "http://h/v1", api_key_file: %s}]}]
        """.formatted(keyFile), dir);
  }

  @Test
  void keyFileThatDoesNotExistIsNamedWithItsResolvedPath(@TempDir Path dir) {
    assertThatThrownBy(() -> backendWithKeyFile("keys/missing.key", dir)).isInstanceOf(ConfigException.class)
        .hasMessage("pools[0].backends[0].api_key_file: cannot read " + dir.resolve("keys/missing.key")
            + " (NoSuchFileException)");
  }

  @Test
  void keyFileThatCannotBeReadIsNamed(@TempDir Path dir) throws Exception {
    Files.createDirectory(dir.resolve("a-directory"));
    assertThatThrownBy(() -> backendWithKeyFile("a-directory", dir)).isInstanceOf(ConfigException.class)
        .hasMessage("pools[0].backends[0].api_key_file: cannot read " + dir.resolve("a-directory") + " (IOException)");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " \n\t \n"})
  void emptyKeyFileIsRefused(String content, @TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("openai.key"), content);
    assertThatThrownBy(() -> backendWithKeyFile("openai.key", dir)).isInstanceOf(ConfigException.class)
        .hasMessage("pools[0].backends[0].api_key_file: file " + dir.resolve("openai.key") + " is empty");
  }

  @Test
  void keyFileIsReadRelativeToTheConfigFile(@TempDir Path dir) throws Exception {
    Files.createDirectory(dir.resolve("keys"));
    Files.writeString(dir.resolve("keys/openai.key"), "sk-from-file\n");
    Path config = Files.writeString(dir.resolve("sluice.yaml"),
        "pools: [{name: a, backends: [{id: b, base_url: \"http://h/v1\", api_key_file: keys/openai.key}]}]\n");
    assertThat(new ConfigLoader(Map.of()).load(config).pools().getFirst().backends().getFirst().apiKey())
        .contains(Secret.of("sk-from-file"));
  }

  @Test
  void keyFromAVariableAndAFileAtOnceIsAContradiction(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("openai.key"), "sk-from-file");
    assertThatThrownBy(() -> new ConfigLoader(Map.of("OPENAI_KEY", "sk-from-env")).loadYaml("""
        pools: [{name: a, backends: [{id: b, base_url: "http://h/v1", api_key_env: OPENAI_KEY,
                                      api_key_file: openai.key}]}]
        """, dir)).isInstanceOf(ConfigException.class)
        .hasMessage("pools[0].backends[0].api_key_env: cannot be combined with api_key_file");
  }

  @Test
  void configFileThatCannotBeReadIsNamed(@TempDir Path dir) {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).load(dir)).isInstanceOf(ConfigException.class)
        .hasMessage("--config: cannot read " + dir + ": Is a directory");
  }

  @ParameterizedTest
  @CsvSource({"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"})
  void withoutAnAdminTokenSluiceMayListenOnLoopback(String host) {
    assertThat(env(Map.of("SIDECAR_HOST", host)).adminToken()).isEmpty();
  }

  @ParameterizedTest
  @CsvSource({"0.0.0.0", "10.0.0.5", "::", "sluice.internal"})
  void withoutAnAdminTokenListeningBeyondLoopbackStopsStartUp(String host) {
    assertThatThrownBy(() -> env(Map.of("SIDECAR_HOST", host))).isInstanceOf(ConfigException.class)
        .hasMessage("SIDECAR_ADMIN_TOKEN: is not set, but Sluice listens on " + host + ", beyond loopback, where"
            + " anyone who reaches the port could change its settings through the admin API; set a token, or"
            + " listen on 127.0.0.1");
  }

  @Test
  void withAnAdminTokenSluiceMayListenBeyondLoopback() {
    SluiceConfig config = env(Map.of("SIDECAR_HOST", "0.0.0.0", "SIDECAR_ADMIN_TOKEN", "t0ken-0123456789"));
    assertThat(config.adminToken()).map(Secret::reveal).contains("t0ken-0123456789");
  }

  @Test
  void aHostFromTheFileIsCheckedToo(@TempDir Path dir) {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadYaml("server: {host: 0.0.0.0}\n", dir))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("SIDECAR_ADMIN_TOKEN: is not set, but Sluice"
            + " listens on 0.0.0.0, beyond loopback");
  }
}
