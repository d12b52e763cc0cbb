package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.limit.RetreatPolicy;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigPatchTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String YAML = """
      default_pool: nvidia
      pools:
        - name: openai
          models: [gpt-4o, "gpt-4o-*"]
          backends: [{id: oa-1, base_url: "http://127.0.0.1:1/v1", api_key_env: OA_KEY, rate_rpm: 100}]
        - name: nvidia
          queue_max_size: 500
          backends:
            - {id: nv-1, base_url: "http://127.0.0.1:2/v1", rate_rpm: 40, capacity: 40}
            - {id: nv-2, base_url: "http://127.0.0.1:3/v1"}
      """;

  @TempDir
  Path dir;

  private SluiceConfig current() {
    return new ConfigLoader(Map.of("OA_KEY", "sk-openai-secret")).loadYaml(YAML, dir);
  }

  private static JsonNode json(String text) throws Exception {
    return JSON.readTree(text);
  }

  private SluiceConfig patch(String body) throws Exception {
    return ConfigPatch.apply(json(body), current()).config();
  }

  @Test
  void nestedKeysChangeTheirPoolAndBackendOnly() throws Exception {
    SluiceConfig config = patch("""
        {"pools":[{"name":"nvidia","queue_max_size":200,"full_policy":"reject",
                   "backends":[{"id":"nv-2","rate_rpm":90,"capacity":5}]}],
         "defaults":{"timeout_seconds":30,"low_priority_timeout_seconds":7,"retreat":{"floor_rpm":9}},
         "log_level":"debug"}""");

    PoolConfig nvidia = config.pools().get(1);
    assertThat(nvidia.queueMaxSize()).isEqualTo(200);
    assertThat(nvidia.fullPolicy()).isEqualTo(FullPolicy.REJECT);
    assertThat(nvidia.backends().get(0)).isEqualTo(current().pools().get(1).backends().get(0));
    assertThat(nvidia.backends().get(1).rateRpm()).isEqualTo(90);
    assertThat(nvidia.backends().get(1).capacity()).isEqualTo(5);
    assertThat(config.pools().get(0)).isEqualTo(current().pools().get(0));
    assertThat(config.defaults().timeoutSeconds()).isEqualTo(30);
    assertThat(config.defaults().lowPriorityTimeoutSeconds()).isEqualTo(7);
    assertThat(config.defaults().retreat().floorRpm()).isEqualTo(9);
    assertThat(config.defaults().retreat().enterRatio()).isEqualTo(0.05);
    assertThat(config.logLevel()).isEqualTo("DEBUG");
  }

  @Test
  void theFlatBodyOfTheEarlierSidecarChangesTheNvidiaPoolAndItsFirstBackend() throws Exception {
    SluiceConfig config = patch("{\"rate_rpm\":30,\"queue_max_size\":200,\"fallback_enabled_passthrough\":false}");

    PoolConfig nvidia = config.pools().get(1);
    assertThat(nvidia.queueMaxSize()).isEqualTo(200);
    assertThat(nvidia.fullPolicy()).isEqualTo(FullPolicy.REJECT);
    assertThat(nvidia.backends().get(0).rateRpm()).isEqualTo(30);
    assertThat(nvidia.backends().get(1).rateRpm()).isEqualTo(40);
    assertThat(patch("{\"fallback_enabled_passthrough\":true}").pools().get(1).fullPolicy())
        .isEqualTo(FullPolicy.PASSTHROUGH);
  }

  @Test
  void flatAndNestedKeysMayBeGivenTogetherWhenTheyAgree() throws Exception {
    SluiceConfig config = patch("""
        {"queue_max_size":200,"pools":[{"name":"nvidia","queue_max_size":200}]}""");
    assertThat(config.pools().get(1).queueMaxSize()).isEqualTo(200);

    assertThatThrownBy(() -> patch("""
        {"queue_max_size":200,"pools":[{"name":"nvidia","queue_max_size":300}]}"""))
        .isInstanceOf(ConfigException.class)
        .hasMessage("queue_max_size: 200 contradicts pools[0].queue_max_size: 300");
    SluiceConfig rejecting = patch("{\"fallback_enabled_passthrough\":false}");
    assertThatThrownBy(() -> ConfigPatch.apply(json("""
        {"fallback_enabled_passthrough":true,"pools":[{"name":"nvidia","full_policy":"drop_lowest"}]}"""), rejecting))
        .isInstanceOf(ConfigException.class)
        .hasMessage("fallback_enabled_passthrough: passthrough contradicts pools[0].full_policy: drop_lowest");
    // false is "not passthrough": a changed nested drop_lowest agrees with it and is the one applied.
    assertThat(patch("""
        {"fallback_enabled_passthrough":false,"pools":[{"name":"nvidia","full_policy":"drop_lowest"}]}""")
        .pools().get(1).fullPolicy()).isEqualTo(FullPolicy.DROP_LOWEST);
  }

  @Test
  void aFlatKeyEqualToTheSettingInForceYieldsToTheEditedNestedOne() throws Exception {
    // As GET shows the current configuration, with only the nested values edited.
    SluiceConfig config = patch("""
        {"pools":[{"name":"nvidia","queue_max_size":300,"full_policy":"drop_lowest",
                   "backends":[{"id":"nv-1","rate_rpm":90}]}],
         "rate_rpm":40,"queue_max_size":500,"fallback_enabled_passthrough":true}""");

    PoolConfig nvidia = config.pools().get(1);
    assertThat(nvidia.queueMaxSize()).isEqualTo(300);
    assertThat(nvidia.fullPolicy()).isEqualTo(FullPolicy.DROP_LOWEST);
    assertThat(nvidia.backends().get(0).rateRpm()).isEqualTo(90);
  }

  @Test
  void anEditedFlatKeyWinsOverANestedOneEqualToTheSettingInForce() throws Exception {
    SluiceConfig config = patch("""
        {"pools":[{"name":"nvidia","queue_max_size":500,"full_policy":"passthrough",
                   "backends":[{"id":"nv-1","rate_rpm":40}]}],
         "rate_rpm":70,"queue_max_size":250,"fallback_enabled_passthrough":false}""");

    PoolConfig nvidia = config.pools().get(1);
    assertThat(nvidia.queueMaxSize()).isEqualTo(250);
    assertThat(nvidia.fullPolicy()).isEqualTo(FullPolicy.REJECT);
    assertThat(nvidia.backends().get(0).rateRpm()).isEqualTo(70);
    assertThat(ConfigPatch.apply(json("{\"queue_max_size\":250,\"pools\":[{\"name\":\"nvidia\",\"queue_max_size\":500}]}"),
        current()).queueSizeKeys()).containsExactly(Map.entry("nvidia", "queue_max_size"));
  }

  @Test
  void aDropLowestPoolsDocumentComesBackUnchanged() throws Exception {
    SluiceConfig dropLowest = patch("{\"pools\":[{\"name\":\"nvidia\",\"full_policy\":\"drop_lowest\"}]}");

    // GET shows fallback_enabled_passthrough false for drop_lowest, which alone would mean reject.
    SluiceConfig back = ConfigPatch.apply(json("""
        {"pools":[{"name":"nvidia","queue_max_size":500,"full_policy":"drop_lowest"}],
         "rate_rpm":40,"queue_max_size":500,"fallback_enabled_passthrough":false}"""), dropLowest).config();

    assertThat(back).isEqualTo(dropLowest);
  }

  @Test
  void aRetreatChangeKeepsTheThresholdsItDoesNotName() throws Exception {
    RetreatPolicy before = current().defaults().retreat();

    RetreatPolicy recover = patch("{\"defaults\":{\"retreat\":{\"recover_below_percent\":4}}}").defaults().retreat();
    RetreatPolicy window = patch("{\"defaults\":{\"retreat\":{\"window_seconds\":30}}}").defaults().retreat();
    RetreatPolicy all = patch("""
        {"defaults":{"retreat":{"recover_below_percent":10,"enter_percent":12,"cut_again_percent":15,
                                "window_seconds":10,"min_sample_seconds":10}}}""").defaults().retreat();

    assertThat(recover.recoverBelowRatio()).isEqualTo(0.04);
    assertThat(recover.enterRatio()).isEqualTo(before.enterRatio());
    assertThat(recover.cutAgainRatio()).isEqualTo(before.cutAgainRatio());
    assertThat(recover.alertRatio()).isEqualTo(before.alertRatio());
    assertThat(window.window()).isEqualTo(java.time.Duration.ofSeconds(30));
    assertThat(window.minSampleSpan()).isEqualTo(before.minSampleSpan());
    assertThat(all.enterRatio()).isEqualTo(0.12);
    assertThat(all.alertRatio()).isEqualTo(before.alertRatio());
    assertThat(all.minSampleSpan()).isEqualTo(java.time.Duration.ofSeconds(10));
  }

  /** Current thresholds: recover below 2, enter 5, cut again 10, alert 20; window 60 s, minimum sample 20 s. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"recover_below_percent\":10} | defaults.retreat.recover_below_percent: 10 is outside 0..5",
      "{\"enter_percent\":1} | defaults.retreat.enter_percent: 1 is outside 2..10",
      "{\"enter_percent\":12} | defaults.retreat.enter_percent: 12 is outside 2..10",
      "{\"cut_again_percent\":25} | defaults.retreat.cut_again_percent: 25 is outside 5..20",
      "{\"alert_percent\":8} | defaults.retreat.alert_percent: 8 is outside 10..100",
      "{\"enter_percent\":12,\"cut_again_percent\":11} | defaults.retreat.enter_percent: 12 is outside 2..11",
      "{\"window_seconds\":10} | defaults.retreat.window_seconds: 10 is outside 20..3600",
      "{\"min_sample_seconds\":61} | defaults.retreat.min_sample_seconds: 61 is outside 1..60",
      "{\"window_seconds\":30,\"min_sample_seconds\":31} | defaults.retreat.window_seconds: 30 is outside 31..3600",
      "{\"alert_percent\":101} | defaults.retreat.alert_percent: 101 is outside 0..100"})
  void aRetreatChangeOutOfOrderIsRefusedWithTheRangeTheOthersLeave(String retreat, String message) {
    assertThatThrownBy(() -> patch("{\"defaults\":{\"retreat\":" + retreat + "}}"))
        .isInstanceOf(ConfigException.class).hasMessage(message)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(message.substring(0, message.indexOf(": "))));
  }

  @Test
  void aProblemWithoutAKeyHasAnEmptyKey() {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadYaml("pools: [a: b: c", dir))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config file is not valid YAML: ")
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEmpty());
  }

  @Test
  void theQueueSizeKeyIsThePathInTheBody() throws Exception {
    assertThat(ConfigPatch.apply(json("{\"pools\":[{\"name\":\"openai\"},{\"name\":\"nvidia\",\"queue_max_size\":9}]}"),
        current()).queueSizeKeys()).containsExactly(Map.entry("nvidia", "pools[1].queue_max_size"));
    assertThat(ConfigPatch.apply(json("{\"queue_max_size\":9}"), current()).queueSizeKeys())
        .containsExactly(Map.entry("nvidia", "queue_max_size"));
  }

  /** A bad value gets the message start-up gives it, with the path it has in the posted body. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "pools: [{name: nvidia, queue_max_size: 0, backends: [{id: x, base_url: 'http://h/v1'}]}]"
          + " | {\"pools\":[{\"name\":\"nvidia\",\"queue_max_size\":0}]}"
          + " | pools[0].queue_max_size: 0 is outside 1..1000000",
      "pools: [{name: nvidia, backends: [{id: nv-1, base_url: 'http://h/v1', rate_rpm: 0}]}]"
          + " | {\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"rate_rpm\":0}]}]}"
          + " | pools[0].backends[0].rate_rpm: 0 is outside 1..100000",
      "pools: [{name: nvidia, backends: [{id: nv-1, base_url: 'http://h/v1', capacity: 100001}]}]"
          + " | {\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"capacity\":100001}]}]}"
          + " | pools[0].backends[0].capacity: 100001 is outside 1..100000",
      "pools: [{name: nvidia, full_policy: drop, backends: [{id: x, base_url: 'http://h/v1'}]}]"
          + " | {\"pools\":[{\"name\":\"nvidia\",\"full_policy\":\"drop\"}]}"
          + " | pools[0].full_policy: drop is not one of passthrough, reject, drop_lowest",
      "defaults: {timeout_seconds: 0} | {\"defaults\":{\"timeout_seconds\":0}}"
          + " | defaults.timeout_seconds: 0 is outside 1..3600",
      "defaults: {low_priority_timeout_seconds: 3601} | {\"defaults\":{\"low_priority_timeout_seconds\":3601}}"
          + " | defaults.low_priority_timeout_seconds: 3601 is outside 1..3600",
      "defaults: {retreat: {floor_rpm: 0}} | {\"defaults\":{\"retreat\":{\"floor_rpm\":0}}}"
          + " | defaults.retreat.floor_rpm: 0 is outside 1..100000",
      "defaults: {retreat: {surge: 1}} | {\"defaults\":{\"retreat\":{\"surge\":1}}}"
          + " | defaults.retreat.surge: unknown key"})
  void aBadValueGetsTheStartUpMessage(String yaml, String body, String message) {
    assertThatThrownBy(() -> new ConfigLoader(Map.of()).loadYaml(yaml, dir))
        .isInstanceOf(ConfigException.class).hasMessage(message);
    assertThatThrownBy(() -> patch(body))
        .isInstanceOf(ConfigException.class).hasMessage(message)
        .satisfies(e -> assertThat(((ConfigException) e).key()).isEqualTo(message.substring(0, message.indexOf(": "))));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"rate_rpm\":0} | rate_rpm: 0 is outside 1..100000",
      "{\"queue_max_size\":\"200\"} | queue_max_size: \"200\" is not an integer in 1..1000000",
      "{\"fallback_enabled_passthrough\":1} | fallback_enabled_passthrough: 1 is not a boolean (true or false)",
      "{\"log_level\":\"LOUD\"} | log_level: LOUD is not one of TRACE, DEBUG, INFO, WARN, ERROR, OFF",
      "{\"pools\":[{\"name\":\"mistral\"}]} | pools[0].name: mistral is not a pool of this Sluice (one of openai, nvidia)",
      "{\"pools\":[{\"queue_max_size\":3}]} | pools[0].name: is required: pools are matched by name",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"oa-1\",\"rate_rpm\":3}]}]}"
          + " | pools[0].backends[0].id: oa-1 is not a backend of pool nvidia (one of nv-1, nv-2)",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"base_url\":\"http://other/v1\"}]}]}"
          + " | pools[0].backends[0].base_url: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"openai\",\"backends\":[{\"id\":\"oa-1\",\"api_key\":\"sk-new-key\"}]}]}"
          + " | pools[0].backends[0].api_key: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"aliases\":[\"nv\"]}]}"
          + " | pools[0].aliases: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"server\":{\"port\":1}} | server: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"openai\",\"models\":[\"gpt-4o\"]}]}"
          + " | pools[0].models: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"openai\",\"models\":[\"gpt-4o-*\",\"gpt-4o\"]}]}"
          + " | pools[0].models: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"default_pool\":\"openai\"} | default_pool: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"max_attempts\":5}]}"
          + " | pools[0].max_attempts: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"max_attempts\":0}]} | pools[0].max_attempts: 0 is outside 1..10",
      "{\"pools\":[{\"name\":\"nvidia\",\"selection\":\"random\"}]}"
          + " | pools[0].selection: random is not one of ordered, balanced",
      "{\"pools\":[{\"name\":\"nvidia\",\"fallback_pool\":\"openai\"}]}"
          + " | pools[0].fallback_pool: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"first_byte_timeout_seconds\":30}]}"
          + " | pools[0].first_byte_timeout_seconds: is not hot-reloadable; change it in the configuration and"
          + " restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"emergency_upstream\":\"ftp://x\"}]}"
          + " | pools[0].emergency_upstream: ftp://x is not an absolute http(s) URL",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"concurrency\":{\"mode\":\"adaptive\"}}]}]}"
          + " | pools[0].backends[0].concurrency.mode: is not hot-reloadable here; change it with PATCH"
          + " /api/admin/adaptive/keys/nv-1/mode (until a restart), or in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"concurrency\":{\"max_concurrent\":101}}]}]}"
          + " | pools[0].backends[0].concurrency.max_concurrent: 101 is outside 1..100",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"cooldown\":{\"base_seconds\":9}}]}]}"
          + " | pools[0].backends[0].cooldown.base_seconds: is not hot-reloadable; change it in the configuration and"
          + " restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-1\",\"cooldown\":{\"jitter\":true}}]}]}"
          + " | pools[0].backends[0].cooldown.jitter: unknown key",
      "{\"pools\":[{\"name\":\"nvidia\",\"stream_usage\":false}]}"
          + " | pools[0].stream_usage: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"default_max_tokens\":0}]} | pools[0].default_max_tokens: 0 is outside"
          + " 1..1000000",
      "{\"pools\":[{\"name\":\"nvidia\",\"quota_errors\":{\"statuses\":[429]}}]}"
          + " | pools[0].quota_errors: is not hot-reloadable; change it in the configuration and restart Sluice",
      "{\"pools\":[{\"name\":\"nvidia\",\"quota_errors\":{\"statuses\":[600]}}]}"
          + " | pools[0].quota_errors.statuses[0]: 600 is outside 100..599",
      "{\"pools\":[{\"name\":\"nvidia\",\"burst\":3}]} | pools[0].burst: unknown key",
      "{\"rpm\":3} | rpm: unknown key",
      "[1] | config: expected a JSON object of the configuration's shape"})
  void aBodyThatCannotApplyIsRefusedNamingItsPath(String body, String message) {
    assertThatThrownBy(() -> patch(body)).isInstanceOf(ConfigException.class).hasMessage(message);
  }

  @Test
  void aDocumentFetchedFromTheAdminApiMayBePostedBackUnchanged() throws Exception {
    SluiceConfig config = patch("""
        {"default_pool":"nvidia",
         "pools":[{"name":"openai","models":["gpt-4o","gpt-4o-*"],
                   "backends":[{"id":"oa-1","base_url":"http://127.0.0.1:1/v1","api_key":"sk-o****"}]},
                  {"name":"nvidia","models":[],
                   "backends":[{"id":"nv-1","base_url":"http://127.0.0.1:2/v1","api_key":null}]}]}""");
    assertThat(config).isEqualTo(current());
  }

  @Test
  void failoverConcurrencyAndCooldownSettingsPostedBackUnchangedAreAccepted() throws Exception {
    SluiceConfig config = patch("""
        {"pools":[{"name":"nvidia","max_attempts":3,"selection":"ordered","first_byte_timeout_seconds":null,
                   "retry_budget_percent":20,"spill_after_seconds":5,"fallback_pool":null,"emergency_upstream":null,
                   "backends":[{"id":"nv-1","concurrency":{"mode":"fixed","max_concurrent":8},
                                "cooldown":{"base_seconds":5,"max_seconds":300,"exponential":true,
                                            "precheck_seconds":2}}]}]}""");
    assertThat(config).isEqualTo(current());
  }

  @Test
  void accountingSettingsPostedBackUnchangedAreAccepted() throws Exception {
    SluiceConfig config = patch("""
        {"pools":[{"name":"nvidia","stream_usage":true,"default_max_tokens":1024,
                   "quota_errors":{"statuses":[400,402,403,429],
                                   "patterns":["insufficient_quota","billing_hard_limit_reached","credit balance",
                                               "usage limit","insufficient credits","insufficient balance",
                                               "payment required","perday"]}}]}""");
    assertThat(config).isEqualTo(current());
  }

  @Test
  void aFailoverSettingInForceCannotBeRemovedWithNull() {
    String yaml = """
        pools:
          - name: a
            fallback_pool: b
            first_byte_timeout_seconds: 30
            backends: [{id: a-1, base_url: "http://127.0.0.1:1/v1"}]
          - name: b
            backends: [{id: b-1, base_url: "http://127.0.0.1:2/v1"}]
        """;
    SluiceConfig current = new ConfigLoader(Map.of()).loadYaml(yaml, dir);

    assertThatThrownBy(() -> ConfigPatch.apply(json("{\"pools\":[{\"name\":\"a\",\"fallback_pool\":null}]}"),
        current)).hasMessage("pools[0].fallback_pool: is not hot-reloadable; change it in the configuration and"
        + " restart Sluice");
    assertThatThrownBy(() -> ConfigPatch.apply(json(
        "{\"pools\":[{\"name\":\"a\",\"first_byte_timeout_seconds\":null}]}"), current))
        .hasMessageStartingWith("pools[0].first_byte_timeout_seconds: is not hot-reloadable");
  }
}
