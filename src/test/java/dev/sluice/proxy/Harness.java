package dev.sluice.proxy;

import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.config.SluiceConfig;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.net.ServerSocket;
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

/** Starts simulated providers and Sluice in-process on ephemeral ports, and stops them all. */
final class Harness implements AutoCloseable {
  final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<AutoCloseable> running = new ArrayList<>();

  SimServer sim(SimConfig config) {
    SimServer sim = SimServer.start(config, Clock.system(), "127.0.0.1", 0);
    running.add(sim);
    return sim;
  }

  SimServer sim() {
    return sim(SimConfig.defaults());
  }

  /** Sluice with the environment {@code SIDECAR_PORT=0} plus {@code env}. */
  Sluice sluice(Map<String, String> env) throws Exception {
    return start(new ConfigLoader(withPort(env)).load(), Clock.system());
  }

  /** Sluice from YAML text (relative key files resolve against {@code dir}) plus {@code env}. */
  Sluice sluiceFromYaml(String yaml, Map<String, String> env, Path dir) throws Exception {
    return sluiceFromYaml(yaml, env, dir, Clock.system());
  }

  /** {@link #sluiceFromYaml(String, Map, Path)} on {@code clock}, such as a test's manual clock. */
  Sluice sluiceFromYaml(String yaml, Map<String, String> env, Path dir, Clock clock) throws Exception {
    return start(new ConfigLoader(withPort(env)).loadYaml(yaml, dir), clock);
  }

  private static Map<String, String> withPort(Map<String, String> env) {
    Map<String, String> all = new HashMap<>(env);
    all.putIfAbsent("SIDECAR_PORT", "0");
    all.putIfAbsent("SIDECAR_METRICS_PORT", "0");
    all.putIfAbsent("SIDECAR_DB_PATH", ":memory:");
    return all;
  }

  private Sluice start(SluiceConfig config, Clock clock) throws Exception {
    Sluice sluice = Wiring.build(config, clock);
    running.add(sluice);
    return sluice.start();
  }

  /** A loopback port with nothing listening on it. */
  static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  HttpResponse<String> post(URI uri, String json, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(URI uri) throws Exception {
    return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  static URI uri(Sluice sluice, String path) {
    return URI.create("http://127.0.0.1:" + sluice.port() + path);
  }

  @Override
  public void close() throws Exception {
    http.close();
    for (AutoCloseable resource : running.reversed()) {
      resource.close();
    }
  }
}
