package dev.sluice.sim;

import dev.sluice.time.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * A simulated OpenAI provider on a real port: chat completions, completions, embeddings and models, streamed or
 * not, behind hidden limits ({@link SimConfig}) with latency and faults. Used by {@code sluice demo}, by the proxy's
 * tests (in-process on port 0) and by load benchmarks ({@code sluice sim}).
 *
 * <p>Limits read the injected {@link Clock}, so a test with a manual clock can exhaust a bucket and refill it by
 * advancing time; latency and stalls are waits on the request's virtual thread through the injected {@link Sleeper}
 * (real time unless a test passes its own, which lets it pace streams by hand). Besides the OpenAI API it
 * answers {@code /v1/echo*} (the request body back, byte for byte) and the control endpoints
 * {@code GET /sim/stats}, {@code GET|POST /sim/config} and {@code POST /sim/reset-stats}; and it obeys the request
 * headers {@code X-Sim-Ttft-Ms}, {@code X-Sim-Fault}, {@code X-Sim-Status} and {@code X-Sim-Chunks}.
 *
 * <p>Thread-safe. Requests run on virtual threads, one each; {@link #close()} ends the ones waiting out a latency or
 * a stall by dropping their connections.
 */
public final class SimServer implements AutoCloseable {
  private static final int ACCEPT_QUEUE_SIZE = 4096;
  private static final long IDLE_TIMEOUT_MILLIS = 300_000L;

  private final Server server;
  private final ServerConnector connector;
  private final SimHandler handler;
  private final ExecutorService virtualThreads;
  private final ClientWatch clientWatch;

  private SimServer(Server server, ServerConnector connector, SimHandler handler, ExecutorService virtualThreads,
      ClientWatch clientWatch) {
    this.server = server;
    this.connector = connector;
    this.handler = handler;
    this.virtualThreads = virtualThreads;
    this.clientWatch = clientWatch;
  }

  /**
   * Starts a server on {@code host:port} ({@code port} 0 picks a free one) whose latency and stalls last real time.
   *
   * @throws UncheckedIOException if the port cannot be bound
   */
  public static SimServer start(SimConfig config, Clock clock, String host, int port) {
    return start(config, clock, Sleeper.system(), host, port);
  }

  /**
   * Starts a server on {@code host:port} ({@code port} 0 picks a free one) whose latency and stalls go through
   * {@code sleeper}.
   *
   * @throws UncheckedIOException if the port cannot be bound
   */
  public static SimServer start(SimConfig config, Clock clock, Sleeper sleeper, String host, int port) {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(sleeper, "sleeper");
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("sim.port: " + port + " is outside 0..65535");
    }
    ExecutorService virtualThreads = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("sim-", 0).factory());
    QueuedThreadPool threadPool = new QueuedThreadPool();
    threadPool.setName("sim");
    threadPool.setVirtualThreadsExecutor(virtualThreads);
    Server server = new Server(threadPool);
    server.setStopTimeout(0); // close() wakes waiting requests; nothing to drain gracefully

    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendXPoweredBy(false);
    // Large enough for everything a proxy in front may send (Sluice accepts up to 16 KB of request headers).
    http.setRequestHeaderSize(32 * 1024);
    // Keep header names in the case they arrived, for RecordedRequest.
    http.setHttpCompliance(HttpCompliance.RFC9110.with("sim", HttpCompliance.Violation.CASE_SENSITIVE_FIELD_NAME));
    // SDKs send model ids with their slash encoded, e.g. GET /v1/models/nvidia%2Fllama-3.1-8b.
    http.setUriCompliance(UriCompliance.DEFAULT.with("sim", UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR));
    ServerConnector connector = new ServerConnector(server, 1, -1, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    connector.setAcceptQueueSize(ACCEPT_QUEUE_SIZE);
    connector.setIdleTimeout(IDLE_TIMEOUT_MILLIS);
    server.addConnector(connector);

    ClientWatch clientWatch = new ClientWatch("sim-clients");
    SimHandler handler = new SimHandler(config, clock, sleeper, clientWatch);
    server.setHandler(handler);
    SimServer sim = new SimServer(server, connector, handler, virtualThreads, clientWatch);
    try {
      server.start();
    } catch (Exception e) {
      sim.close();
      throw new UncheckedIOException("sim: cannot listen on " + host + ":" + port + ": " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
    return sim;
  }

  /** The port actually bound. */
  public int port() {
    return connector.getLocalPort();
  }

  /** The OpenAI base URL, {@code http://127.0.0.1:PORT/v1}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** The limits, latency and faults in force. */
  public SimConfig config() {
    return handler.config();
  }

  /**
   * Changes limits, latency and faults while running. The history of accepted requests and tokens is kept, so a
   * lower limit applies at once; requests already in flight finish under the old latency.
   */
  public void updateConfig(SimConfig config) {
    handler.updateConfig(Objects.requireNonNull(config, "config"));
  }

  /** The counters since start or the last {@code POST /sim/reset-stats}. */
  public SimStats stats() {
    return handler.stats();
  }

  /** The last 256 requests received, oldest first, recorded before any limit applied. */
  public List<RecordedRequest> recentRequests() {
    return handler.recorder().recent();
  }

  /** Forgets the recorded requests. */
  public void clearRecorded() {
    handler.recorder().clear();
  }

  /** Ends waiting requests without (the rest of) their answers, stops the server and its threads. */
  @Override
  public void close() {
    handler.wakeAll();
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException("sim: failed to stop: " + e.getMessage(), e);
    } finally {
      virtualThreads.shutdownNow();
      clientWatch.close();
    }
  }

  @Override
  public String toString() {
    return "SimServer[" + (server.isStarted() ? baseUrl() : "stopped") + ", " + config() + "]";
  }
}
