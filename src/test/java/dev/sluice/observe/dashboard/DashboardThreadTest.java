package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.time.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** In a whole Sluice, the stream's snapshots are built on the dashboard's own thread, which ends with Sluice. */
class DashboardThreadTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String THREAD = "sluice-dashboard";
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private Sluice sluice;

  @AfterEach
  void stop() throws Exception {
    if (sluice != null) {
      sluice.close(Duration.ZERO);
    }
    http.close();
  }

  @Test
  void snapshotsAreBuiltOnTheDashboardsOwnThreadWhichStopsWithSluice() throws Exception {
    Set<Thread> before = dashboardThreads();
    sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:",
        "SIDECAR_UPSTREAM", "http://127.0.0.1:1/v1")).load(), Clock.system()).start();

    HttpResponse<Stream<String>> stream = http.send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + sluice.port() + "/api/dashboard/stream")).timeout(WAIT).GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    try (Stream<String> lines = stream.body()) {
      assertThat(lines.filter(line -> line.startsWith("data: ")).findFirst()).isPresent();
    }
    Set<Thread> ours = dashboardThreads();
    ours.removeAll(before);
    assertThat(ours).as("the thread the tick ran on").hasSize(1);
    assertThat(ours.iterator().next().isDaemon()).isTrue();

    sluice.close(Duration.ZERO);
    sluice = null;
    await().atMost(WAIT).until(() -> ours.stream().noneMatch(Thread::isAlive));
  }

  private static Set<Thread> dashboardThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(THREAD))
        .collect(Collectors.toSet());
  }
}
