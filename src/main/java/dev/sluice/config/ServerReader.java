package dev.sluice.config;

import static dev.sluice.config.Bounds.MAX_BODY_BYTES;
import static dev.sluice.config.Bounds.MAX_CONNECTIONS;
import static dev.sluice.config.Bounds.MAX_PORT;
import static dev.sluice.config.Bounds.MIN_BODY_BYTES;
import static dev.sluice.config.ConfigLoader.ENV_HOST;
import static dev.sluice.config.ConfigLoader.ENV_MAX_BODY_BYTES;
import static dev.sluice.config.ConfigLoader.ENV_DB_PATH;
import static dev.sluice.config.ConfigLoader.ENV_MAX_CONNECTIONS_PER_UPSTREAM;
import static dev.sluice.config.ConfigLoader.ENV_METRICS_ENABLED;
import static dev.sluice.config.ConfigLoader.ENV_METRICS_PORT;
import static dev.sluice.config.ConfigLoader.ENV_PORT;

import java.util.Optional;

/** Reads the file's {@code server} section and lays the environment over it. */
final class ServerReader {
  private ServerReader() {}

  static ServerConfig read(Optional<Section> s, EnvironmentLayer env) {
    // The file's values are read (and validated) even where the environment overrides them.
    Optional<String> fileHost = s.flatMap(x -> x.string("host"));
    Optional<Integer> filePort = s.flatMap(x -> x.intValue("port", 0, MAX_PORT));
    Optional<Integer> fileMetricsPort = s.flatMap(x -> x.intValue("metrics_port", 0, MAX_PORT));
    Optional<Boolean> fileMetricsEnabled = s.flatMap(x -> x.bool("metrics_enabled"));
    Optional<String> fileDbPath = s.flatMap(x -> x.string("db_path"));
    Optional<Long> fileMaxBody = s.flatMap(x -> x.longValue("max_body_bytes", MIN_BODY_BYTES, MAX_BODY_BYTES));
    Optional<Integer> fileConnections =
        s.flatMap(x -> x.intValue("max_connections_per_upstream", 1, MAX_CONNECTIONS));
    int queued = s.flatMap(x -> x.intValue("max_queued_per_upstream", 1, MAX_CONNECTIONS))
        .orElse(ServerConfig.DEFAULT_MAX_QUEUED_PER_UPSTREAM);
    s.ifPresent(Section::finish);

    String host = env.string(ENV_HOST).or(() -> fileHost).orElse(ServerConfig.DEFAULT_HOST);
    Optional<Integer> envPort = env.intValue(ENV_PORT, 0, MAX_PORT);
    Optional<Integer> envMetricsPort = env.intValue(ENV_METRICS_PORT, 0, MAX_PORT);
    int port = envPort.or(() -> filePort).orElse(ServerConfig.DEFAULT_PORT);
    int metricsPort = envMetricsPort.or(() -> fileMetricsPort).orElse(ServerConfig.DEFAULT_METRICS_PORT);
    long maxBody = env.longValue(ENV_MAX_BODY_BYTES, MIN_BODY_BYTES, MAX_BODY_BYTES).or(() -> fileMaxBody)
        .orElse(ServerConfig.DEFAULT_MAX_BODY_BYTES);
    int connections = env.intValue(ENV_MAX_CONNECTIONS_PER_UPSTREAM, 1, MAX_CONNECTIONS).or(() -> fileConnections)
        .orElse(ServerConfig.DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM);
    boolean metricsEnabled = env.bool(ENV_METRICS_ENABLED).or(() -> fileMetricsEnabled)
        .orElse(ServerConfig.DEFAULT_METRICS_ENABLED);
    if (metricsEnabled) { // with metrics off nothing listens on the metrics port, so it may be anything
      CrossChecks.portsDiffer(envPort.isPresent() ? ENV_PORT : "server.port", port,
          envMetricsPort.isPresent() ? ENV_METRICS_PORT : "server.metrics_port", metricsPort);
    }
    String dbPath = env.string(ENV_DB_PATH).or(() -> fileDbPath).orElse(ServerConfig.DEFAULT_DB_PATH);
    return new ServerConfig(host, port, metricsPort, maxBody, connections, queued, metricsEnabled, dbPath);
  }
}
