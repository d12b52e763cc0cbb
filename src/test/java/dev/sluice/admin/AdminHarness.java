package dev.sluice.admin;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.LoggerFactory;

/**
 * A simulated provider and Sluice in front of it, in-process on ephemeral ports, with an HTTP client for callers
 * and admins; captures every log line (any logger) while open.
 */
final class AdminHarness implements AutoCloseable {
  static final String KEY = "nvapi-super-secret-key-0123";
  static final String TOKEN = "admin-t0ken-0123456789";
  private static final ObjectMapper JSON = new ObjectMapper();

  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  final SimServer sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
  private final List<AutoCloseable> running = new ArrayList<>(List.of(sim));
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Logger requestLogger = (Logger) LoggerFactory.getLogger("sluice.request");
  Sluice sluice;

  AdminHarness() {
    logs.start();
    root.addAppender(logs);
    requestLogger.addAppender(logs); // not additive in the test configuration
  }

  /** Sluice with one pool {@code nvidia}, one backend {@code sim-1} (key {@link #KEY}) before the sim. */
  AdminHarness start(String defaults, String poolExtras, String backendExtras, Map<String, String> env, Path dir)
      throws Exception {
    String yaml = """
        defaults: {%s}
        pools:
          - name: nvidia
            aliases: [nvidia]
            %s
            backends: [{id: sim-1, base_url: "%s", api_key_env: SIM_KEY, %s}]
        """.formatted(defaults, poolExtras, sim.baseUrl(), backendExtras);
    return startYaml(yaml, env, dir);
  }

  /** Sluice from {@code yaml}, with {@code SIM_KEY} ({@link #KEY}) and {@code env} in its environment. */
  AdminHarness startYaml(String yaml, Map<String, String> env, Path dir) throws Exception {
    Map<String, String> all = new HashMap<>(env);
    all.put("SIDECAR_PORT", "0");
    all.put("SIDECAR_METRICS_PORT", "0");
    all.putIfAbsent("SIDECAR_DB_PATH", ":memory:");
    all.put("SIM_KEY", KEY);
    sluice = Wiring.build(new ConfigLoader(all).loadYaml(yaml, dir), Clock.system());
    running.add(sluice);
    sluice.start();
    return this;
  }

  /** Something to close with the harness, before what was started earlier. */
  <T extends AutoCloseable> T closing(T resource) {
    running.add(resource);
    return resource;
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + sluice.port() + path);
  }

  HttpResponse<String> send(String method, String path, String body, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(20))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> admin(String method, String path, String body) throws Exception {
    return send(method, path, body, "Authorization", "Bearer " + TOKEN, "Content-Type", "application/json");
  }

  JsonNode adminJson(String method, String path, String body) throws Exception {
    return JSON.readTree(admin(method, path, body).body());
  }

  JsonNode status() throws Exception {
    return JSON.readTree(send("GET", "/status", null).body());
  }

  static String chat(String content) {
    return "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"" + content + "\"}]}";
  }

  CompletableFuture<HttpResponse<String>> chatAsync(String requestId, String priority) {
    HttpRequest request = HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(Duration.ofSeconds(60))
        .header("Content-Type", "application/json").header("X-Priority", priority).header("X-Request-Id", requestId)
        .POST(HttpRequest.BodyPublishers.ofString(chat(requestId))).build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
  }

  /** Every line logged so far, rendered with its key-value pairs. */
  List<String> logLines() {
    List<ILoggingEvent> events;
    synchronized (logs) {
      events = List.copyOf(logs.list);
    }
    return events.stream().map(e -> e.getLoggerName() + " " + e.getFormattedMessage() + " "
        + (e.getKeyValuePairs() == null ? "" : e.getKeyValuePairs().toString())).toList();
  }

  List<ILoggingEvent> events(String logger) {
    synchronized (logs) {
      return logs.list.stream().filter(e -> e.getLoggerName().equals(logger)).toList();
    }
  }

  static Object value(ILoggingEvent line, String key) {
    return line.getKeyValuePairs().stream().filter(pair -> pair.key.equals(key)).map(pair -> pair.value)
        .findFirst().orElse(null);
  }

  @Override
  public void close() throws Exception {
    root.detachAppender(logs);
    requestLogger.detachAppender(logs);
    http.close();
    for (AutoCloseable resource : running.reversed()) {
      resource.close();
    }
  }
}
