package dev.sluice.cli;

import dev.sluice.config.BackendConfig;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice demo}: three simulated provider keys with different hidden limits, and Sluice in front of them with
 * one pool of three backends ({@code sim-a}, {@code sim-b}, {@code sim-c}). Needs no provider key; prints how to
 * call it and how to make a key fail, and serves until Ctrl-C.
 *
 * <p>The configuration is the YAML {@link #yaml} composes, loaded like a {@code --config} file with the environment
 * over it, so {@code SIDECAR_PORT}, {@code SIDECAR_RATE_RPM} and the other variables apply as they do to
 * {@code serve}.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    description = "Run Sluice in front of three simulated provider keys; no provider key needed.")
final class DemoCommand implements Callable<Integer> {
  static final String DEMO_MODEL = "nvidia/llama-3.1-nemotron-70b-instruct";

  @Option(names = "--port", description = "Sluice's port (default: SIDECAR_PORT or 9190).")
  Integer port;

  @Option(names = "--sim-rpm", defaultValue = "60",
      description = "Hidden limit of the first simulated key (sim-a), requests/minute; sim-b gets two thirds of it "
          + "and sim-c one third; 0 = unlimited (default: ${DEFAULT-VALUE}).")
  int simRpm;

  @Option(names = "--sim-max-concurrent", defaultValue = "4",
      description = "Hidden limit of requests in flight of each simulated key; 0 = unlimited "
          + "(default: ${DEFAULT-VALUE}).")
  int simMaxConcurrent;

  /**
   * One simulated key of the demo.
   *
   * @param id the backend's id in the pool
   * @param hiddenRpm the simulated provider's hidden limit in requests per minute; 0 = unlimited
   * @param hiddenMaxConcurrent the simulated provider's hidden limit of requests in flight; 0 = unlimited
   * @param apiKey the made-up key Sluice sends it
   */
  record DemoKey(String id, int hiddenRpm, int hiddenMaxConcurrent, String apiKey) {
    /** The variable of the demo's environment that holds the key, for the backend's {@code api_key_env}. */
    String apiKeyEnv() {
      return "SLUICE_DEMO_KEY_" + id.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** The rate Sluice is configured with: above the hidden limit, so adaptive retreat has something to learn. */
    int configuredRpm() {
      return hiddenRpm == 0 ? BackendConfig.DEFAULT_RATE_RPM : Math.max(1, hiddenRpm * 3 / 2);
    }
  }

  /** The three keys: sim-a with {@code rpm}, sim-b with two thirds and sim-c with a third of it (at least 1). */
  static List<DemoKey> keys(int rpm, int maxConcurrent) {
    return List.of(
        new DemoKey("sim-a", rpm, maxConcurrent, "sk-demo-a-4f1c2b7e9d3a6f01"),
        new DemoKey("sim-b", share(rpm, 2), maxConcurrent, "sk-demo-b-9a7d3e5c1b8f2e02"),
        new DemoKey("sim-c", share(rpm, 1), maxConcurrent, "sk-demo-c-2e8b6a4f0c9d1c03"));
  }

  private static int share(int rpm, int thirds) {
    return rpm == 0 ? 0 : Math.max(1, Math.round(rpm * thirds / 3.0f));
  }

  @Override
  public Integer call() throws Exception {
    List<DemoKey> keys = keys(simRpm, simMaxConcurrent);
    List<SimServer> sims = new ArrayList<>();
    try {
      for (DemoKey key : keys) {
        sims.add(SimServer.start(SimConfig.defaults().withRpm(key.hiddenRpm()).withMaxConcurrent(
            key.hiddenMaxConcurrent()).withTtftMillis(150).withPerTokenMillis(30).withCompletionTokens(24),
            Clock.system(), "127.0.0.1", 0));
      }
    } catch (IllegalArgumentException e) {
      sims.forEach(SimServer::close);
      System.err.println("sluice demo: " + e.getMessage());
      return 2;
    }
    List<String> simBases = sims.stream().map(SimServer::baseUrl).toList();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put(ConfigLoader.ENV_UPSTREAM, simBases.getFirst()); // passthrough, should a request bypass the pool
    env.remove(ConfigLoader.ENV_API_KEY);
    keys.forEach(key -> env.put(key.apiKeyEnv(), key.apiKey()));
    if (port != null) {
      env.put(ConfigLoader.ENV_PORT, Integer.toString(port));
    }
    SluiceConfig config;
    try {
      config = new ConfigLoader(env).loadYaml(yaml(keys, simBases), null);
    } catch (ConfigException e) {
      sims.forEach(SimServer::close);
      System.err.println("sluice demo: invalid configuration: " + e.getMessage());
      return 2;
    }
    Lifecycle.applyLogLevel(config.logLevel());
    Sluice sluice;
    try {
      sluice = Wiring.build(config, Clock.system());
    } catch (RuntimeException | Error e) {
      sims.forEach(SimServer::close); // their threads would keep the JVM alive after the failure
      throw e;
    }
    try {
      sluice.start();
    } catch (Exception e) {
      sims.forEach(SimServer::close);
      sluice.close();
      System.err.println("sluice demo: cannot listen on " + Lifecycle.listeners(config) + ": " + e.getMessage()
          + " (choose another port with --port, or SIDECAR_METRICS_PORT for the metrics port)");
      return 1;
    }
    String metrics = sluice.metricsPort().stream().mapToObj(port -> "http://" + sluice.baseUrl().getHost() + ":"
        + port + "/metrics").findFirst().orElse("off (SIDECAR_METRICS_ENABLED=false)");
    PoolConfig pool = config.pools().getFirst();
    List<Integer> sluiceRpms = pool.backends().stream().map(BackendConfig::rateRpm).toList();
    System.out.println(banner(sluice.baseUrl().toString(), keys, simBases, sluiceRpms, metrics));
    List<AutoCloseable> resources = new ArrayList<>();
    resources.add(sluice);
    resources.addAll(sims);
    Lifecycle.serveUntilStopped(resources.toArray(AutoCloseable[]::new));
    return 0;
  }

  /**
   * The demo's configuration: the pool {@value SluiceConfig#DEFAULT_POOL_NAME} with its usual aliases, taking every
   * model as the default pool, with one backend per key at {@code simBases} (same order), each sending its key from
   * the variable {@link DemoKey#apiKeyEnv()} names. The pool balances its load over the keys, so that all three show
   * on the dashboard from the first requests on.
   */
  static String yaml(List<DemoKey> keys, List<String> simBases) {
    // The simulated keys' state is not worth keeping across runs (SIDECAR_DB_PATH still names a file if set).
    StringBuilder yaml = new StringBuilder()
        .append("server: {db_path: '").append(ServerConfig.IN_MEMORY).append("'}\n")
        .append("default_pool: ").append(SluiceConfig.DEFAULT_POOL_NAME).append('\n')
        .append("pools:\n")
        .append("  - name: ").append(SluiceConfig.DEFAULT_POOL_NAME).append('\n')
        .append("    aliases: [").append(String.join(", ", SluiceConfig.DEFAULT_POOL_ALIASES)).append("]\n")
        .append("    selection: balanced\n")
        .append("    backends:\n");
    for (int i = 0; i < keys.size(); i++) {
      DemoKey key = keys.get(i);
      yaml.append("      - {id: ").append(key.id()).append(", base_url: '").append(simBases.get(i))
          .append("', api_key_env: ").append(key.apiKeyEnv()).append(", rate_rpm: ").append(key.configuredRpm())
          .append("}\n");
    }
    return yaml.toString();
  }

  static String banner(String base, List<DemoKey> keys, List<String> simBases, List<Integer> sluiceRpms,
      String metrics) {
    String root = base.substring(0, base.length() - "/v1".length());
    StringBuilder providers = new StringBuilder();
    for (int i = 0; i < keys.size(); i++) {
      DemoKey key = keys.get(i);
      providers.append("    %-6s %-27s hidden limits: %s, %s; Sluice's rate: %d requests/min\n".formatted(
          key.id(), simBases.get(i), key.hiddenRpm() == 0 ? "none" : key.hiddenRpm() + " requests/min",
          key.hiddenMaxConcurrent() == 0 ? "any number at once" : key.hiddenMaxConcurrent() + " at once",
          sluiceRpms.get(i)));
    }
    List<String> control =
        simBases.stream().map(sim -> sim.substring(0, sim.length() - "/v1".length()) + "/sim/config").toList();
    return """

        Sluice demo is running.
          OpenAI-compatible base URL : %1$s
          status                     : %2$s/status
          dashboard                  : %2$s/
          Prometheus metrics         : %3$s
          pool "%4$s", one backend per simulated provider key (Sluice's rates are set above the hidden
          limits: under load, adaptive retreat finds the real ones; watch "retreat" in the status):
        %5$s
        Try it:
          curl -s %1$s/chat/completions -H 'Content-Type: application/json' \\
            -d '{"model":"%6$s","messages":[{"role":"user","content":"Hello"}]}'

          curl -sN %1$s/chat/completions -H 'Content-Type: application/json' -H 'X-Priority: high' \\
            -d '{"model":"%6$s","stream":true,"messages":[{"role":"user","content":"Hello"}]}'

        OpenAI SDK (Python):
          from openai import OpenAI
          client = OpenAI(base_url="%1$s", api_key="demo")
          reply = client.chat.completions.create(model="%6$s",
                                                 messages=[{"role": "user", "content": "Hello"}])
          print(reply.choices[0].message.content)

        Make a key fail (each simulated provider has its own %7$s):
          curl -s %8$s -d '{"rejected_keys":["%9$s"]}'   # %10$s's key revoked: 401
          curl -s %11$s -d '{"refuse_connections_seconds":60}'   # %12$s down for a minute
          curl -s %13$s -d '{"error_rate":1.0,"error_status":503}'   # %14$s answers 503

        Press Ctrl-C to stop.
        """.formatted(base, root, metrics, SluiceConfig.DEFAULT_POOL_NAME, providers, DEMO_MODEL,
        "POST /sim/config", control.get(1), keys.get(1).apiKey(), keys.get(1).id(), control.get(2), keys.get(2).id(),
        control.getFirst(), keys.getFirst().id());
  }
}
