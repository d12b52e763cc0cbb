package dev.sluice.cli;

import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.store.StoreException;
import dev.sluice.time.Clock;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code sluice serve}: proxy to the configured providers until stopped. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    versionProvider = Main.VersionProvider.class,
    description = {
      "Serve the OpenAI-compatible API in front of the configured providers (the default command).",
      "Configuration: built-in defaults < the YAML file < SIDECAR_* environment variables."
    })
final class ServeCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  @Option(names = {"-c", "--config"}, paramLabel = "FILE", description = "YAML configuration file.")
  Path configFile;

  @Override
  public Integer call() throws Exception {
    SluiceConfig config;
    try {
      ConfigLoader loader = new ConfigLoader(System.getenv());
      config = configFile == null ? loader.load() : loader.load(configFile);
    } catch (ConfigException e) {
      System.err.println("sluice: invalid configuration: " + e.getMessage());
      return 2;
    }
    Lifecycle.applyLogLevel(config.logLevel());
    config.pools().forEach(pool -> pool.backends().stream().filter(b -> b.apiKey().isEmpty()).forEach(b ->
        LOG.warn("backend {} of pool {} has no API key: callers' Authorization headers are forwarded to {}",
            b.id(), pool.name(), b.baseUrl())));
    Sluice sluice;
    try {
      sluice = Wiring.build(config, Clock.system());
    } catch (StoreException e) {
      System.err.println("sluice: " + e.getMessage());
      return 2;
    }
    try {
      sluice.start();
    } catch (Exception e) {
      System.err.println("sluice: cannot listen on " + Lifecycle.listeners(config) + ": " + e.getMessage());
      sluice.close();
      return 1;
    }
    LOG.info("sluice {} listening on {}", Version.current(), sluice.baseUrl());
    System.out.println("Sluice listening on " + sluice.baseUrl());
    sluice.metricsPort().ifPresent(port -> System.out.println("Metrics on http://" + sluice.baseUrl().getHost() + ":"
        + port + "/metrics"));
    Lifecycle.serveUntilStopped(sluice);
    return 0;
  }
}
