package dev.sluice.sim;

import dev.sluice.time.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntFunction;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
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
 * headers {@code X-Sim-Ttft-Ms}, {@code X-Sim-Fault}, {@code X-Sim-Status} and {@code X-Sim-Chunks}. It can
 * stand for a provider that is down ({@link #refuseConnections}), one that revoked a key
 * ({@link SimConfig#rejectedKeys()}), one that fails ({@link SimConfig#errorStatus()}) or one whose plan's token
 * budget is spent ({@link SimConfig#tokenBudget()}).
 *
 * <p>Several servers run side by side independently (one per simulated key or provider): each has its own limits,
 * counters, control endpoints and threads, and nothing is static.
 *
 * <p>Thread-safe. Requests run on virtual threads, one each; a client that closes its connection while its answer
 * is pending frees its place at once; {@link #close()} ends the requests waiting out a latency or a stall by
 * dropping their connections.
 */
public final class SimServer implements AutoCloseable {
  /** Longest refusal of {@link #refuseConnections} and {@code refuse_connections_seconds}: one day. */
  public static final long MAX_REFUSE_CONNECTIONS_SECONDS = 86_400L;
  private static final int ACCEPT_QUEUE_SIZE = 4096;
  private static final long IDLE_TIMEOUT_MILLIS = 300_000L;

  private final Server server;
  private final SimHandler handler;
  private final ExecutorService virtualThreads;
  private final ClientWatch clientWatch;

  private SimServer(Server server, SimHandler handler, ExecutorService virtualThreads, ClientWatch clientWatch) {
    this.server = server;
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
    IntFunction<ListeningConnector> connectors = boundPort -> {
      ListeningConnector connector = new ListeningConnector(server, 1, new HttpConnectionFactory(http));
      connector.setHost(host);
      connector.setPort(boundPort);
      connector.setAcceptQueueSize(ACCEPT_QUEUE_SIZE);
      connector.setIdleTimeout(IDLE_TIMEOUT_MILLIS);
      connector.setReuseAddress(true); // refusing connections reopens the same port
      return connector;
    };

    ClientWatch clientWatch = new ClientWatch("sim-clients");
    SimHandler handler = new SimHandler(config, clock, sleeper, clientWatch, server, connectors, port);
    server.setHandler(handler);
    SimServer sim = new SimServer(server, handler, virtualThreads, clientWatch);
    try {
      server.start();
      handler.refusals().listening();
    } catch (Exception e) {
      sim.close();
      throw new UncheckedIOException("sim: cannot listen on " + host + ":" + port + ": " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
    return sim;
  }

  /** The port actually bound (also while refusing connections). */
  public int port() {
    return handler.refusals().port();
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

  /**
   * Refuses connections for {@code duration}, as a provider that is down: the listening socket closes at once, so a
   * new connection is refused ({@code ECONNREFUSED}), every open connection is dropped and the requests on them end
   * without (the rest of) their answers; after {@code duration}, as the {@link Sleeper} counts it, the server listens
   * on the same port again. A refusal while refusing replaces the time left.
   *
   * @throws IllegalArgumentException if {@code duration} is not 1..86400 seconds
   */
  public void refuseConnections(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    long seconds = duration.toSeconds();
    if (duration.toNanos() % 1_000_000_000L != 0 || seconds < 1 || seconds > MAX_REFUSE_CONNECTIONS_SECONDS) {
      throw new IllegalArgumentException("sim.refuse_connections_seconds: " + duration + " is outside 1.."
          + MAX_REFUSE_CONNECTIONS_SECONDS + " whole seconds");
    }
    handler.refusals().refuse(duration, null);
  }

  /**
   * Listens again now, if refusing connections, on the same port.
   *
   * @throws UncheckedIOException if the port cannot be bound again (then the server still refuses)
   */
  public void acceptConnections() {
    handler.refusals().accept();
  }

  /** Whether the server refuses connections now. */
  public boolean refusingConnections() {
    return handler.refusals().refusing();
  }

  /** Ends waiting requests without (the rest of) their answers, stops the server and its threads. */
  @Override
  public void close() {
    handler.refusals().close();
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
