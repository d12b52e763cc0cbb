package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice demo}: the built-in simulated provider with a hidden rate limit, and Sluice in front of it. Needs
 * no provider key; prints how to call it and serves until Ctrl-C.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    description = "Run Sluice in front of a built-in simulated provider; no provider key needed.")
final class DemoCommand implements Callable<Integer> {
  static final String DEMO_MODEL = "nvidia/llama-3.1-nemotron-70b-instruct";

  @Option(names = "--port", description = "Sluice's port (default: SIDECAR_PORT or 9190).")
  Integer port;

  @Option(names = "--sim-rpm", defaultValue = "120",
      description = "The simulated provider's hidden limit, requests/minute (default: ${DEFAULT-VALUE}).")
  int simRpm;

  @Override
  public Integer call() throws Exception {
    SimServer sim;
    try {
      sim = SimServer.start(SimConfig.defaults().withRpm(simRpm).withTtftMillis(150).withPerTokenMillis(30)
          .withCompletionTokens(24), Clock.system(), "127.0.0.1", 0);
    } catch (IllegalArgumentException e) {
      System.err.println("sluice demo: " + e.getMessage());
      return 2;
    }
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put(ConfigLoader.ENV_UPSTREAM, sim.baseUrl());
    env.remove(ConfigLoader.ENV_API_KEY);
    // Configured above the hidden limit, so adaptive retreat has something to learn (visible in /status).
    if (simRpm > 0) {
      env.putIfAbsent(ConfigLoader.ENV_RATE_RPM, Integer.toString(Math.max(1, simRpm * 3 / 2)));
    }
    if (port != null) {
      env.put(ConfigLoader.ENV_PORT, Integer.toString(port));
    }
    SluiceConfig config;
    try {
      config = new ConfigLoader(env).load();
    } catch (ConfigException e) {
      sim.close();
      System.err.println("sluice demo: invalid configuration: " + e.getMessage());
      return 2;
    }
    Lifecycle.applyLogLevel(config.logLevel());
    Sluice sluice = Wiring.build(config, Clock.system());
    try {
      sluice.start();
    } catch (Exception e) {
      sim.close();
      sluice.close();
      System.err.println("sluice demo: cannot listen on " + Lifecycle.listeners(config) + ": " + e.getMessage()
          + " (choose another port with --port, or SIDECAR_METRICS_PORT for the metrics port)");
      return 1;
    }
    String metrics = sluice.metricsPort().stream().mapToObj(port -> "http://" + sluice.baseUrl().getHost() + ":"
        + port + "/metrics").findFirst().orElse("off (SIDECAR_METRICS_ENABLED=false)");
    System.out.println(banner(sluice.baseUrl().toString(), sim.baseUrl(), simRpm,
        config.pools().getFirst().backends().getFirst().rateRpm(), metrics));
    Lifecycle.serveUntilStopped(sluice, sim);
    return 0;
  }

  static String banner(String base, String simBase, int simRpm, int sluiceRpm, String metrics) {
    String root = base.substring(0, base.length() - "/v1".length());
    return """

        Sluice demo is running.
          OpenAI-compatible base URL : %1$s
          status                     : %2$s/status
          dashboard                  : %2$s/
          Prometheus metrics         : %7$s
          simulated provider         : %3$s (hidden limit: %4$d requests/min)
          Sluice's configured rate   : %6$d requests/min (above the hidden limit: under load, adaptive
                                       retreat finds the real one; watch "retreat" in the status)

        Try it:
          curl -s %1$s/chat/completions -H 'Content-Type: application/json' \\
            -d '{"model":"%5$s","messages":[{"role":"user","content":"Hello"}]}'

          curl -sN %1$s/chat/completions -H 'Content-Type: application/json' -H 'X-Priority: high' \\
            -d '{"model":"%5$s","stream":true,"messages":[{"role":"user","content":"Hello"}]}'

        OpenAI SDK (Python):
          from openai import OpenAI
          client = OpenAI(base_url="%1$s", api_key="demo")
          reply = client.chat.completions.create(model="%5$s",
                                                 messages=[{"role": "user", "content": "Hello"}])
          print(reply.choices[0].message.content)

        Press Ctrl-C to stop.
        """.formatted(base, root, simBase, simRpm, DEMO_MODEL, sluiceRpm, metrics);
  }
}
