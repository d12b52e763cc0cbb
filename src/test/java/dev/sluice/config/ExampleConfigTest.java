package dev.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.sluice.limit.RetreatPolicy;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deploy/sluice.example.yaml}: it loads, it means what its comments say, and it shows every key. */
class ExampleConfigTest {
  private static final Path EXAMPLE = Path.of("deploy", "sluice.example.yaml");

  /** Every key path of {@code node} with list indices left out, mapped to its scalar values. */
  private static Map<String, List<String>> keys(JsonNode node) {
    Map<String, List<String>> keys = new LinkedHashMap<>();
    collect("", node, keys);
    return keys;
  }

  private static void collect(String path, JsonNode node, Map<String, List<String>> keys) {
    if (node.isArray()) {
      node.forEach(item -> collect(path + "[]", item, keys));
    } else if (node.isObject()) {
      node.properties().forEach(field -> {
        String key = path.isEmpty() ? field.getKey() : path + "." + field.getKey();
        keys.computeIfAbsent(key, k -> new ArrayList<>());
        collect(key, field.getValue(), keys);
      });
    } else if (!path.endsWith("[]")) {
      keys.get(path).add(node.asText());
    }
  }

  private static JsonNode exampleTree() throws IOException {
    return new ObjectMapper(new YAMLFactory()).readTree(Files.readString(EXAMPLE));
  }

  /** A dummy value for each variable the example's backends name in {@code api_key_env}. */
  private static Map<String, String> keyVariables(JsonNode tree) {
    Map<String, String> env = new LinkedHashMap<>();
    keys(tree).get("pools[].backends[].api_key_env").forEach(name -> env.put(name, "dummy-" + name));
    return env;
  }

  /** The example copied into {@code dir}, with a dummy key in each file its backends name in {@code api_key_file}. */
  private static Path installExample(Path dir, JsonNode tree) throws IOException {
    for (String name : keys(tree).get("pools[].backends[].api_key_file")) {
      Path file = dir.resolve(name);
      Files.createDirectories(file.getParent());
      Files.writeString(file, "dummy-" + file.getFileName() + "\n");
    }
    return Files.copy(EXAMPLE, dir.resolve("sluice.yaml"));
  }

  @Test
  void exampleLoadsWithTheValuesItsCommentsDescribe(@TempDir Path dir) throws Exception {
    JsonNode tree = exampleTree();
    SluiceConfig config = new ConfigLoader(keyVariables(tree)).load(installExample(dir, tree));

    assertThat(config.server()).isEqualTo(new ServerConfig("127.0.0.1", 9190, 9191, 10_485_760, 1024, 4096, true, "./data/sluice.db"));
    assertThat(config.defaults()).isEqualTo(new DefaultsConfig(60, 2, RetreatPolicy.defaults()));
    assertThat(config.defaultUpstream()).isEqualTo(URI.create("https://integrate.api.nvidia.com/v1"));
    assertThat(config.pools()).extracting(PoolConfig::name).containsExactly("nvidia", "nvidia-reserve", "openai");
    assertThat(config.defaultPool()).contains("nvidia");

    PoolConfig nvidia = config.pools().get(0);
    assertThat(nvidia).isEqualTo(new PoolConfig("nvidia", List.of("nvidia", "nvidia-gateway", "nvidiavx"),
        List.of("meta/*", "mistralai/*"), false,
        500, FullPolicy.REJECT, new FailoverConfig(3, FailoverConfig.Selection.ORDERED, Optional.of(30), 20, 5,
        Optional.of("nvidia-reserve"), Optional.of(URI.create("http://nim.internal:8000/v1"))), nvidia.backends()));
    BackendConfig nv1 = nvidia.backends().get(0);
    assertThat(nv1).isEqualTo(new BackendConfig("nv-1", URI.create("https://integrate.api.nvidia.com/v1"),
        Optional.of(Secret.of("dummy-NVIDIA_KEY_1")), 40, 40, new ConcurrencyConfig(ConcurrencyConfig.Mode.FIXED, 8),
        new CooldownConfig(5, 300, true, 2), Optional.of(new QuotaConfig(2_000_000, 300, 99, 300)),
        40_000, false));
    BackendConfig nv2 = nvidia.backends().get(1);
    assertThat(nv2.apiKey()).contains(Secret.of("dummy-NVIDIA_KEY_2"));
    assertThat(nv2.capacity()).isEqualTo(10);
    assertThat(nv2.concurrency()).isEqualTo(new ConcurrencyConfig(ConcurrencyConfig.Mode.ADAPTIVE, 8));
    assertThat(nv2.quota()).contains(new QuotaConfig(500_000, 90, 99, 300));

    PoolConfig reserve = config.pools().get(1);
    assertThat(reserve.aliases()).containsExactly("nvidia-reserve");
    assertThat(reserve.models()).isEmpty();
    assertThat(reserve.stripPrefix()).isTrue();
    assertThat(reserve.fullPolicy()).isEqualTo(FullPolicy.DROP_LOWEST);
    assertThat(reserve.backends()).singleElement().satisfies(backend -> {
      assertThat(backend.apiKey()).contains(Secret.of("dummy-nvidia-reserve.key"));
      assertThat(backend.rateRpm()).isEqualTo(300);
      assertThat(backend.capacity()).isEqualTo(60);
    });

    PoolConfig openai = config.pools().get(2);
    assertThat(openai.models()).containsExactly("gpt-4o", "gpt-4o-*", "o?-mini");
    assertThat(openai.stripPrefix()).isTrue();
    assertThat(openai.queueMaxSize()).isEqualTo(200);
    assertThat(openai.fullPolicy()).isEqualTo(FullPolicy.PASSTHROUGH);
    assertThat(openai.failover().maxAttempts()).isEqualTo(2);
    assertThat(openai.backends()).singleElement().satisfies(backend -> {
      assertThat(backend.baseUrl()).isEqualTo(URI.create("https://api.openai.com/v1"));
      assertThat(backend.apiKey()).contains(Secret.of("dummy-OPENAI_API_KEY"));
      assertThat(backend.rateRpm()).isEqualTo(500);
    });
  }

  @Test
  void exampleSetsEveryKeyTheLoaderReads(@TempDir Path dir) throws Exception {
    JsonNode tree = exampleTree();
    installExample(dir, tree);
    Section top = Section.root(tree);
    new ConfigLoader(keyVariables(tree)).load(Optional.of(top), Optional.of(dir));

    // The loader asks for every key of each section it enters, present or not; a section the example leaves out
    // shows as its own key, and once added, its keys are asked for in turn.
    Set<String> missing = new TreeSet<>(top.keysAsked());
    missing.removeAll(keys(tree).keySet());
    assertThat(missing).as("keys the loader reads that deploy/sluice.example.yaml does not show").isEmpty();
    assertThat(top.keysAsked()).contains("pools[].backends[].quota.probe_interval_seconds",
        "defaults.retreat.evaluation_interval_seconds", "server.max_queued_per_upstream");
  }
}
