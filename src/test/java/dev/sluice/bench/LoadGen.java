package dev.sluice.bench;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.RoundRobinConnectionPool;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine;

/**
 * The benchmark's load generator (a benchmark tool, not a test: surefire never runs it). One run per process;
 * prints one JSON line with the results on stdout, progress on stderr.
 *
 * <pre>
 * open   --url U --rate R --duration S [--warmup S] [--body FILE|JSON] [--timeout S] [--max-connections N]
 *        [--round-robin] [--tag k=v]...
 * closed --url U --concurrency C --duration S [--warmup S] [--body FILE|JSON] [--timeout S] [--tag k=v]...
 * stream --url U --streams N --duration-limit S [--ramp S] [--warmup-streams N] [--per-token-ms N]
 *        [--expect-content N] [--body FILE|JSON] [--tag k=v]...
 * report --results FILE [--out FILE]
 * </pre>
 *
 * <p>{@code open} sends at a constant rate whatever the responses do and measures each latency from the
 * request's <em>intended</em> send time, so a stall on the target is charged to every request it delays (no
 * coordinated omission). {@code closed} keeps C requests in flight and reports the throughput. {@code stream}
 * opens N SSE chat streams and times every event. {@code report} turns a results file into the summary table.
 *
 * <p>Options are parsed by picocli: an unknown option, a value of the wrong type or outside its range ends the
 * process with exit code 2 and a message naming the option, before anything is sent.
 */
@Command(name = "LoadGen", mixinStandardHelpOptions = true,
    description = "Sluice's benchmark load generator: one bounded run, one JSON result line on stdout.",
    subcommands = {OpenLoop.class, ClosedLoop.class, StreamLoad.class, BenchReport.ReportCommand.class})
public final class LoadGen {
  static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] argv) {
    quietLogging();
    System.exit(commandLine().execute(argv));
  }

  /** The command line with every mode, as {@link #main} runs it. */
  static CommandLine commandLine() {
    return new CommandLine(new LoadGen());
  }

  /** Prints a run's result line: its tags first, then the mode, then the figures. */
  static void printResult(String mode, Map<String, String> tags, Map<String, Object> result) throws Exception {
    Map<String, Object> line = new LinkedHashMap<>(tags);
    line.put("mode", mode);
    line.putAll(result);
    System.out.println(JSON.writeValueAsString(line));
  }

  /** Logback without a configuration file logs Jetty at DEBUG, which would swamp the measurement. */
  private static void quietLogging() {
    if (LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
      root.setLevel(Level.WARN);
    }
  }

  /**
   * A Jetty client for load: one selector, a small thread pool, no cookies, no content decoding, up to
   * {@code maxConnections} connections to the target. Jetty's default pool hands out the first idle connection,
   * so below saturation the lowest few carry most requests; with {@code roundRobin} each request takes the
   * next connection in turn, as that many independent callers would.
   */
  static HttpClient newClient(int maxConnections, boolean roundRobin) throws Exception {
    ClientConnector connector = new ClientConnector();
    connector.setSelectors(1);
    connector.setConnectTimeout(Duration.ofSeconds(10));
    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName("loadgen");
    threads.setDaemon(true);
    connector.setExecutor(threads);
    HttpClientTransportOverHTTP transport = new HttpClientTransportOverHTTP(connector);
    if (roundRobin) {
      transport.setConnectionPoolFactory(destination -> new RoundRobinConnectionPool(destination, maxConnections));
    }
    HttpClient client = new HttpClient(transport);
    client.setMaxConnectionsPerDestination(maxConnections);
    client.setMaxRequestsQueuedPerDestination(1_000_000);
    client.setFollowRedirects(false);
    client.setHttpCookieStore(new HttpCookieStore.Empty());
    client.setUserAgentField(null);
    client.setIdleTimeout(120_000);
    client.start();
    client.getContentDecoderFactories().clear();
    return client;
  }

  /** Sleeps (parks) until {@code deadlineNanos} on the {@link System#nanoTime()} scale. */
  static void parkUntil(long deadlineNanos) {
    long wait;
    while ((wait = deadlineNanos - System.nanoTime()) > 0) {
      LockSupport.parkNanos(wait);
    }
  }

  /** Short, stable name of a failure for the error breakdown. */
  static String failureName(Throwable failure) {
    Throwable root = failure;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getClass().getSimpleName();
  }
}
