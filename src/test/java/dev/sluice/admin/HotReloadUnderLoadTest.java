package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.spi.ILoggingEvent;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rate, capacity, queue size, full policy and timeouts changed while hundreds of requests wait: each request is
 * answered exactly once (none lost, none doubled), and the upstream sees exactly the ones answered 200.
 */
class HotReloadUnderLoadTest {
  private static final int REQUESTS = 300;
  private static final String[] PRIORITIES = {"urgent", "high", "normal", "low"};
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  @Test
  void everyRequestGetsExactlyOneAnswerWhileTheSettingsChange() throws Exception {
    harness.start("low_priority_timeout_seconds: 30", "queue_max_size: 160\n    full_policy: passthrough",
        "rate_rpm: 6, capacity: 5", Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN), dir);
    List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
    for (int i = 0; i < REQUESTS / 2; i++) {
      answers.add(harness.chatAsync("load-" + i, PRIORITIES[i % PRIORITIES.length]));
    }
    // At 6 RPM the burst of 5 goes at once and one more every 10 s, so the queue fills however slowly the
    // arrivals land; the first change below raises the rate and sets the queue moving.
    await().atMost(20, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(10))
        .until(() -> harness.status().at("/pools/0/queue/size").asInt() >= 100);

    // The second half arrives while the changes are posted, so arrivals race the queue's resizing.
    CountDownLatch go = new CountDownLatch(1);
    List<Integer> changeStatuses;
    try (ExecutorService admin = Executors.newSingleThreadExecutor()) {
      Future<List<Integer>> posted = admin.submit(() -> {
        go.await();
        List<Integer> statuses = new ArrayList<>();
        for (String body : List.of(
            "{\"rate_rpm\":300}",
            "{\"pools\":[{\"name\":\"nvidia\",\"full_policy\":\"reject\"}]}",
            "{\"pools\":[{\"name\":\"nvidia\",\"queue_max_size\":150}]}",
            "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"sim-1\",\"capacity\":20}]}]}",
            "{\"queue_max_size\":50}",
            "{\"defaults\":{\"low_priority_timeout_seconds\":5,\"timeout_seconds\":45}}",
            "{\"pools\":[{\"name\":\"nvidia\",\"full_policy\":\"drop_lowest\"}]}",
            "{\"fallback_enabled_passthrough\":true,\"rate_rpm\":1200}",
            "{\"rate_rpm\":60000,\"queue_max_size\":500}")) {
          statuses.add(harness.admin("POST", "/api/admin/config", body).statusCode());
        }
        return statuses;
      });
      go.countDown();
      for (int i = REQUESTS / 2; i < REQUESTS; i++) {
        answers.add(harness.chatAsync("load-" + i, PRIORITIES[i % PRIORITIES.length]));
      }
      changeStatuses = posted.get(60, TimeUnit.SECONDS);
    }
    CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(90, TimeUnit.SECONDS);

    assertThat(changeStatuses).allMatch(status -> status == 200 || status == 409);
    assertThat(changeStatuses.getLast()).isEqualTo(200);
    Map<String, Integer> statusById = new TreeMap<>();
    for (CompletableFuture<HttpResponse<String>> answer : answers) {
      HttpResponse<String> response = answer.join();
      String id = response.headers().firstValue("X-Sluice-Request-Id").orElseThrow();
      assertThat(statusById.put(id, response.statusCode())).as("a second answer for %s", id).isNull();
    }
    assertThat(statusById).hasSize(REQUESTS);
    assertThat(statusById.values()).allMatch(status -> status == 200 || status == 429 || status == 503);
    long ok = statusById.values().stream().filter(status -> status == 200).count();
    assertThat(ok).isPositive();
    // One request-log line per request, with the status its caller saw.
    await().atMost(10, TimeUnit.SECONDS).until(() -> harness.events("sluice.request").size() >= REQUESTS);
    Map<Object, List<ILoggingEvent>> logged = harness.events("sluice.request").stream()
        .collect(Collectors.groupingBy(line -> AdminHarness.value(line, "request_id")));
    assertThat(logged).hasSize(REQUESTS).allSatisfy((id, lines) -> {
      assertThat(lines).hasSize(1);
      assertThat(AdminHarness.value(lines.getFirst(), "status")).isEqualTo(statusById.get((String) id));
    });
    // The upstream took exactly the requests answered 200: none sent twice, none dropped after sending.
    assertThat(harness.sim.stats().accepted()).isEqualTo(ok);
    assertThat(harness.status().at("/pools/0/queue/size").asInt()).isZero();
    assertThat(statusById.keySet()).containsAll(
        java.util.stream.IntStream.range(0, REQUESTS).mapToObj(i -> "load-" + i).toList());
  }
}
