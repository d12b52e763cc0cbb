package dev.sluice.bench;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The benchmark's load generator (a benchmark tool, not a test: surefire never runs it). One run per process;
 * prints one JSON line with the results on stdout, progress on stderr.
 *
 * <pre>
 * open   --url U --rate R --duration S [--warmup S] [--body FILE|JSON] [--timeout S] [--max-connections N]
 *        [--tag k=v]...
 * closed --url U --concurrency C --duration S [--warmup S] [--body FILE|JSON] [--tag k=v]...
 * stream --url U --streams N --duration-limit S [--ramp S] [--per-token-ms N] [--expect-content N]
 *        [--body FILE|JSON] [--tag k=v]...
 * report --results FILE [--out FILE]
 * </pre>
 *
 * <p>{@code open} sends at a constant rate whatever the responses do and measures each latency from the
 * request's <em>intended</em> send time, so a stall on the target is charged to every request it delays (no
 * coordinated omission). {@code closed} keeps C requests in flight and reports the throughput. {@code stream}
 * opens N SSE chat streams and times every event. {@code report} turns a results file into the summary table.
 */
public final class LoadGen {
  static final ObjectMapper JSON = new ObjectMapper();
  static final String DEFAULT_BODY =
      "{\"model\":\"nvidia/x\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello to the benchmark.\"}]}";

  private LoadGen() {}

  public static void main(String[] argv) throws Exception {
    if (argv.length == 0) {
      System.err.println("usage: LoadGen open|closed|stream|report --help");
      System.exit(2);
    }
    quietLogging();
    Args args = Args.parse(argv, 1);
    Map<String, Object> result = switch (argv[0]) {
      case "open" -> OpenLoop.run(args);
      case "closed" -> ClosedLoop.run(args);
      case "stream" -> StreamLoad.run(args);
      case "report" -> {
        BenchReport.run(args);
        yield null;
      }
      default -> {
        System.err.println("unknown mode: " + argv[0]);
        System.exit(2);
        yield null;
      }
    };
    if (result != null) {
      Map<String, Object> line = new LinkedHashMap<>(args.tags());
      line.put("mode", argv[0]);
      line.putAll(result);
      System.out.println(JSON.writeValueAsString(line));
    }
    System.exit(0);
  }

  /** Logback without a configuration file logs Jetty at DEBUG, which would swamp the measurement. */
  private static void quietLogging() {
    if (LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME) instanceof ch.qos.logback.classic.Logger root) {
      root.setLevel(Level.WARN);
    }
  }

  /**
   * A Jetty client for load: one selector, a small thread pool, no cookies, no content decoding, up to
   * {@code maxConnections} connections to the target.
   */
  static HttpClient newClient(int maxConnections) throws Exception {
    ClientConnector connector = new ClientConnector();
    connector.setSelectors(1);
    connector.setConnectTimeout(Duration.ofSeconds(10));
    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName("loadgen");
    threads.setDaemon(true);
    connector.setExecutor(threads);
    HttpClient client = new HttpClient(new HttpClientTransportOverHTTP(connector));
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

  /** The request body: inline JSON (starts with '{'), a file, or the default chat request. */
  static byte[] body(Args args, boolean stream) throws IOException {
    String body = args.get("body", null);
    String json;
    if (body == null) {
      json = stream ? DEFAULT_BODY.replaceFirst("\\{", "{\"stream\":true,") : DEFAULT_BODY;
    } else if (body.stripLeading().startsWith("{")) {
      json = body;
    } else {
      json = Files.readString(Path.of(body));
    }
    return json.getBytes(StandardCharsets.UTF_8);
  }

  /** Sleeps (parks) until {@code deadlineNanos} on the {@link System#nanoTime()} scale. */
  static void parkUntil(long deadlineNanos) {
    long wait;
    while ((wait = deadlineNanos - System.nanoTime()) > 0) {
      java.util.concurrent.locks.LockSupport.parkNanos(wait);
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

  /** {@code --key value} options; {@code --tag k=v} may repeat and ends up in the result line. */
  record Args(Map<String, String> options, Map<String, String> tags) {
    static Args parse(String[] argv, int from) {
      Map<String, String> options = new HashMap<>();
      Map<String, String> tags = new LinkedHashMap<>();
      List<String> rest = new ArrayList<>(List.of(argv).subList(from, argv.length));
      for (int i = 0; i < rest.size(); i++) {
        String key = rest.get(i);
        if (!key.startsWith("--") || i + 1 >= rest.size()) {
          throw new IllegalArgumentException("expected --key value at: " + key);
        }
        String value = rest.get(++i);
        if (key.equals("--tag")) {
          int eq = value.indexOf('=');
          if (eq < 1) {
            throw new IllegalArgumentException("--tag expects k=v, got: " + value);
          }
          tags.put(value.substring(0, eq), value.substring(eq + 1));
        } else {
          options.put(key.substring(2), value);
        }
      }
      return new Args(options, tags);
    }

    String get(String key, String fallback) {
      return options.getOrDefault(key, fallback);
    }

    String require(String key) {
      String value = options.get(key);
      if (value == null) {
        throw new IllegalArgumentException("missing --" + key);
      }
      return value;
    }

    double number(String key, double fallback) {
      String value = options.get(key);
      return value == null ? fallback : Double.parseDouble(value);
    }

    double requireNumber(String key) {
      return Double.parseDouble(require(key));
    }

    URI uri() {
      return URI.create(require("url"));
    }
  }
}
