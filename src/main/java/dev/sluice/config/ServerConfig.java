package dev.sluice.config;

/**
 * Listener and transport settings.
 *
 * @param host listen address; default {@code 127.0.0.1} ({@code SIDECAR_HOST}, {@code server.host}); an address
 *     beyond loopback requires {@code SIDECAR_ADMIN_TOKEN}
 * @param port proxy and status port, 0 for an ephemeral port; default 9190 ({@code SIDECAR_PORT})
 * @param metricsPort port of the Prometheus listener ({@code GET /metrics}), 0 for an ephemeral port; must differ
 *     from {@code port}; default 9191 ({@code SIDECAR_METRICS_PORT}, {@code server.metrics_port})
 * @param maxBodyBytes largest request body accepted, in bytes; larger ones get 413; default 10 MiB
 *     ({@code SIDECAR_MAX_BODY_BYTES}, {@code server.max_body_bytes})
 * @param maxConnectionsPerUpstream connections the upstream client opens to one upstream host at most; default
 *     1024 ({@code SIDECAR_MAX_CONNECTIONS_PER_UPSTREAM}, {@code server.max_connections_per_upstream})
 * @param maxQueuedPerUpstream requests waiting for a free upstream connection at most, beyond which the request
 *     fails with 503; default 4096 ({@code server.max_queued_per_upstream})
 * @param metricsEnabled whether Sluice keeps metrics and listens on {@code metricsPort}; when false there is no
 *     listener, no registry and no per-request cost; default true ({@code SIDECAR_METRICS_ENABLED},
 *     {@code server.metrics_enabled})
 * @param dbPath the state store's SQLite file, created with its directory when missing; {@value #IN_MEMORY} keeps
 *     the state in memory only (nothing survives a restart); default {@value #DEFAULT_DB_PATH}
 *     ({@code SIDECAR_DB_PATH}, {@code server.db_path})
 */
public record ServerConfig(
    String host, int port, int metricsPort, long maxBodyBytes, int maxConnectionsPerUpstream,
    int maxQueuedPerUpstream, boolean metricsEnabled, String dbPath) {
  public static final String DEFAULT_DB_PATH = "./data/sluice.db";
  /** The {@code dbPath} that keeps the state in memory. */
  public static final String IN_MEMORY = ":memory:";
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 9190;
  public static final int DEFAULT_METRICS_PORT = 9191;
  public static final long DEFAULT_MAX_BODY_BYTES = 10L * 1024 * 1024;
  public static final int DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM = 1024;
  public static final int DEFAULT_MAX_QUEUED_PER_UPSTREAM = 4096;
  public static final boolean DEFAULT_METRICS_ENABLED = true;
}
