package dev.sluice.cli;

import dev.sluice.backend.Pool;
import dev.sluice.backend.StateKeeper;
import dev.sluice.proxy.DeadKeyProbe;
import dev.sluice.config.SluiceConfig;
import dev.sluice.schedule.Dispatcher;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ScheduledExecutorService;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A running Sluice: the Jetty server with its handlers and the shared upstream client. Built by
 * {@link Wiring#build}; {@link #start()} opens the port, {@link #close()} stops serving and releases everything.
 */
public final class Sluice implements AutoCloseable {
  /** How long queued requests may keep waiting for a slot once shutdown starts. */
  static final Duration DRAIN = Duration.ofSeconds(10);

  private final SluiceConfig config;
  private final Server server;
  private final ServerConnector connector;
  private final HttpClient client;
  private final List<Pool> pools;
  private final List<Dispatcher> dispatchers;
  private final ScheduledExecutorService timer;
  private final DeadKeyProbe deadKeyProbe;
  private final ScheduledExecutorService dashboardTimer;
  private final Optional<StateKeeper> keeper;

  Sluice(SluiceConfig config, Server server, ServerConnector connector, HttpClient client, List<Pool> pools,
      List<Dispatcher> dispatchers, ScheduledExecutorService timer, ScheduledExecutorService dashboardTimer,
      DeadKeyProbe deadKeyProbe, Optional<StateKeeper> keeper) {
    this.keeper = keeper;
    this.config = config;
    this.deadKeyProbe = deadKeyProbe;
    this.server = server;
    this.connector = connector;
    this.client = client;
    this.pools = List.copyOf(pools);
    this.dispatchers = dispatchers;
    this.timer = timer;
    this.dashboardTimer = dashboardTimer;
  }

  /** Starts the upstream client, then the server. */
  public Sluice start() throws Exception {
    client.start();
    // The relay is byte-for-byte: never decode a compressed upstream body.
    client.getContentDecoderFactories().clear();
    client.getProtocolHandlers().clear();
    server.start();
    deadKeyProbe.start();
    keeper.ifPresent(StateKeeper::start);
    return this;
  }

  /** The port actually bound (useful when configured as 0). */
  public int port() {
    return connector.getLocalPort();
  }

  /** The metrics port actually bound (useful when configured as 0); empty when metrics are switched off. */
  public OptionalInt metricsPort() {
    return Arrays.stream(server.getConnectors())
        .filter(c -> Wiring.METRICS_CONNECTOR.equals(c.getName()) && c instanceof ServerConnector)
        .mapToInt(c -> ((ServerConnector) c).getLocalPort()).findFirst();
  }

  /** The OpenAI-compatible base URL callers use, e.g. {@code http://127.0.0.1:9190/v1}. */
  public URI baseUrl() {
    String host = config.server().host();
    if (host.contains(":")) {
      host = "[" + host + "]";
    }
    if (host.equals("0.0.0.0") || host.equals("[::]")) {
      host = "127.0.0.1";
    }
    return URI.create("http://" + host + ":" + port() + "/v1");
  }

  /** Threads of the shared pool, selectors included, busy or idle. */
  int poolThreads() {
    return server.getThreadPool().getThreads();
  }

  public SluiceConfig config() {
    return config;
  }

  public List<Pool> pools() {
    return pools;
  }

  public List<Dispatcher> dispatchers() {
    return dispatchers;
  }

  /**
   * Graceful stop: queues stop taking requests and drain for up to {@link #DRAIN} (what is still waiting then is
   * answered 503), requests in flight finish within the server's stop timeout, then everything is released.
   */
  @Override
  public void close() throws Exception {
    close(DRAIN);
  }

  /** {@link #close()} with a drain period of {@code drain}, shared by all pools. */
  public void close(Duration drain) throws Exception {
    try {
      long deadline = System.nanoTime() + drain.toNanos();
      for (Dispatcher dispatcher : dispatchers) {
        dispatcher.shutdown(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      }
      server.stop();
    } finally {
      try {
        client.stop();
      } finally {
        timer.shutdownNow();
        dashboardTimer.shutdownNow();
        keeper.ifPresent(StateKeeper::close); // after the last answer: what it taught the backends is written too
      }
    }
  }
}
