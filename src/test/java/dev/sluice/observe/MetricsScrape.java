package dev.sluice.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
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
import java.util.Arrays;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * How long a {@code /metrics} scrape takes and how large it is with many backends: Sluice in-process with
 * {@code POOLS} pools of {@code BACKENDS} backends each (default 5 × 10) in front of the simulated provider, some
 * traffic through every pool, then {@code SCRAPES} scrapes in each format after as many discarded, one at a time
 * from one client over loopback. Prints one line per format: wall time per scrape (client-measured: request sent
 * to body read), its body size and its sample count. Run by {@code bench/scrape.sh}; see BENCHMARKS.md.
 */
public final class MetricsScrape {
  private MetricsScrape() {}

  public static void main(String[] args) throws Exception {
    int pools = Integer.parseInt(System.getenv().getOrDefault("POOLS", "5"));
    int backends = Integer.parseInt(System.getenv().getOrDefault("BACKENDS", "10"));
    int scrapes = Integer.parseInt(System.getenv().getOrDefault("SCRAPES", "2000"));
    ((Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)).setLevel(Level.WARN);
    try (SimServer sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
      StringBuilder yaml = new StringBuilder("server: {host: 127.0.0.1, port: 0, metrics_port: 0}\n")
          .append("upstream: ").append(sim.baseUrl()).append("\npools:\n");
      for (int p = 1; p <= pools; p++) {
        yaml.append("  - name: pool-").append(p).append("\n    aliases: [pool-").append(p).append("]\n")
            .append("    backends:\n");
        for (int b = 1; b <= backends; b++) {
          yaml.append("      - {id: backend-").append(p).append('-').append(b).append(", base_url: '")
              .append(sim.baseUrl()).append("', rate_rpm: 100000, capacity: 100000}\n");
        }
      }
      Sluice sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_DB_PATH", ":memory:")).loadYaml(yaml.toString(), Path.of(".")),
          Clock.system());
      try {
        sluice.start();
        for (int p = 1; p <= pools; p++) {
          for (int i = 0; i < 20; i++) {
            http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").header("X-Priority", i % 2 == 0 ? "high" : "low")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"pool-" + p
                    + "/x\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}")).build(),
                HttpResponse.BodyHandlers.discarding());
          }
        }
        URI metrics = URI.create("http://127.0.0.1:" + sluice.metricsPort().orElseThrow() + "/metrics");
        System.out.printf("%d pools x %d backends, %d scrapes per format after as many discarded%n", pools, backends,
            scrapes);
        measure(http, metrics, "text/plain", "*/*", scrapes);
        measure(http, metrics, "openmetrics", "application/openmetrics-text; version=1.0.0", scrapes);
      } finally {
        sluice.close(Duration.ZERO);
      }
    }
  }

  private static void measure(HttpClient http, URI metrics, String name, String accept, int scrapes)
      throws Exception {
    HttpRequest request = HttpRequest.newBuilder(metrics).header("Accept", accept).GET().build();
    String body = "";
    for (int i = 0; i < scrapes; i++) {
      body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
    }
    long[] nanos = new long[scrapes];
    for (int i = 0; i < scrapes; i++) {
      long start = System.nanoTime();
      body = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
      nanos[i] = System.nanoTime() - start;
    }
    Arrays.sort(nanos);
    long samples = body.lines().filter(line -> !line.startsWith("#") && !line.isBlank()).count();
    System.out.printf("%-12s p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms  mean %.2f ms  %d bytes  %d samples%n",
        name, nanos[scrapes / 2] / 1e6, nanos[scrapes * 9 / 10] / 1e6, nanos[scrapes * 99 / 100] / 1e6,
        nanos[scrapes - 1] / 1e6, Arrays.stream(nanos).average().orElse(0) / 1e6, body.length(), samples);
  }
}
