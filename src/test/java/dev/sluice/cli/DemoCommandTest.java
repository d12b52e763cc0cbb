package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.DemoCommand.DemoKey;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.FailoverConfig;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.Secret;
import dev.sluice.config.SluiceConfig;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's three simulated keys and the configuration it composes for them. */
class DemoCommandTest {
  private static final List<String> SIM_BASES =
      List.of("http://127.0.0.1:40001/v1", "http://127.0.0.1:40002/v1", "http://127.0.0.1:40003/v1");

  private static SluiceConfig load(List<DemoKey> keys, Map<String, String> extraEnv) {
    Map<String, String> env = new HashMap<>(extraEnv);
    keys.forEach(key -> env.put(key.apiKeyEnv(), key.apiKey()));
    return new ConfigLoader(env).loadYaml(DemoCommand.yaml(keys, SIM_BASES), null);
  }

  @Test
  void keys_defaultRpm_split60To40To20WithTheSameConcurrency() {
    assertThat(DemoCommand.keys(60, 4)).extracting(DemoKey::id, DemoKey::hiddenRpm, DemoKey::hiddenMaxConcurrent)
        .containsExactly(org.assertj.core.groups.Tuple.tuple("sim-a", 60, 4),
            org.assertj.core.groups.Tuple.tuple("sim-b", 40, 4), org.assertj.core.groups.Tuple.tuple("sim-c", 20, 4));
  }

  @Test
  void keys_smallOrZeroRpm_neverRoundsAKeyDownToUnlimited() {
    assertThat(DemoCommand.keys(1, 0)).extracting(DemoKey::hiddenRpm).containsExactly(1, 1, 1);
    assertThat(DemoCommand.keys(100, 0)).extracting(DemoKey::hiddenRpm).containsExactly(100, 67, 33);
    assertThat(DemoCommand.keys(0, 0)).extracting(DemoKey::hiddenRpm).containsExactly(0, 0, 0);
  }

  @Test
  void configIsOneBalancedPoolOfThreeBackendsAboveTheirHiddenLimitsEachWithItsOwnKey() {
    List<DemoKey> keys = DemoCommand.keys(60, 4);

    SluiceConfig config = load(keys, Map.of());

    assertThat(config.pools()).hasSize(1);
    PoolConfig pool = config.pools().getFirst();
    assertThat(pool.name()).isEqualTo(SluiceConfig.DEFAULT_POOL_NAME);
    assertThat(pool.aliases()).isEqualTo(SluiceConfig.DEFAULT_POOL_ALIASES);
    assertThat(config.defaultPool()).hasValue(SluiceConfig.DEFAULT_POOL_NAME);
    assertThat(pool.failover().selection()).isEqualTo(FailoverConfig.Selection.BALANCED);
    assertThat(pool.backends()).extracting(BackendConfig::id).containsExactly("sim-a", "sim-b", "sim-c");
    assertThat(pool.backends()).extracting(BackendConfig::baseUrl)
        .containsExactlyElementsOf(SIM_BASES.stream().map(URI::create).toList());
    assertThat(pool.backends()).extracting(BackendConfig::rateRpm).containsExactly(90, 60, 30);
    assertThat(pool.backends()).extracting(b -> b.apiKey().map(Secret::reveal).orElseThrow())
        .containsExactlyElementsOf(keys.stream().map(DemoKey::apiKey).toList());
    assertThat(keys).extracting(DemoKey::apiKey).doesNotHaveDuplicates();
  }

  @Test
  void configTakesTheEnvironmentOverItAsServeDoes() {
    SluiceConfig config = load(DemoCommand.keys(60, 4),
        Map.of(ConfigLoader.ENV_RATE_RPM, "12", ConfigLoader.ENV_PORT, "0"));

    assertThat(config.pools().getFirst().backends()).extracting(BackendConfig::rateRpm).containsExactly(12, 12, 12);
    assertThat(config.server().port()).isZero();
  }

  @Test
  void unlimitedKeysGetTheDefaultRate() {
    SluiceConfig config = load(DemoCommand.keys(0, 0), Map.of());

    assertThat(config.pools().getFirst().backends()).extracting(BackendConfig::rateRpm)
        .containsOnly(BackendConfig.DEFAULT_RATE_RPM);
  }

  @Test
  void bannerListsTheThreeKeysWithTheirHiddenLimitsAndHowToMakeOneFail() {
    List<DemoKey> keys = DemoCommand.keys(60, 4);

    String banner = DemoCommand.banner("http://127.0.0.1:9190/v1", keys, SIM_BASES, List.of(90, 60, 30),
        "http://127.0.0.1:9191/metrics");

    assertThat(banner).contains(
        "    sim-a  http://127.0.0.1:40001/v1   hidden limits: 60 requests/min, 4 at once; Sluice's rate: 90 requests/min\n",
        "    sim-b  http://127.0.0.1:40002/v1   hidden limits: 40 requests/min, 4 at once; Sluice's rate: 60 requests/min\n",
        "    sim-c  http://127.0.0.1:40003/v1   hidden limits: 20 requests/min, 4 at once; Sluice's rate: 30 requests/min\n",
        "curl -s http://127.0.0.1:40002/sim/config -d '{\"rejected_keys\":[\"" + keys.get(1).apiKey() + "\"]}'",
        "curl -s http://127.0.0.1:40003/sim/config -d '{\"refuse_connections_seconds\":60}'",
        "curl -s http://127.0.0.1:40001/sim/config -d '{\"error_rate\":1.0,\"error_status\":503}'",
        "  curl -s http://127.0.0.1:9190/v1/chat/completions -H 'Content-Type: application/json' \\\n",
        "Press Ctrl-C to stop.");
    assertThat(DemoCommand.banner("http://127.0.0.1:9190/v1", DemoCommand.keys(0, 0), SIM_BASES, List.of(40, 40, 40),
        "off")).contains("sim-c  http://127.0.0.1:40003/v1   hidden limits: none, any number at once; Sluice's rate: 40");
  }
}
