package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import dev.sluice.time.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code X-Sluice-Overhead-Ms} on every answer and {@code X-Sluice-Queue-Ms} on those that queued. Sluice runs on a
 * manual clock, so the time it measures moves only when the test moves it: its own work takes 0 ms, and a queue
 * wait is exactly what the test advanced.
 */
class TimingHeadersTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Harness harness = new Harness();

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  @ParameterizedTest
  @CsvSource({"0, 0.000", "999, 0.000", "1000, 0.001", "1234567, 1.234", "60000000000, 60000.000",
      "12050000, 12.050", "-5, 0.000"})
  void millisHaveThreeDecimals(long nanos, String expected) {
    assertThat(TimingHeaders.millis(nanos)).isEqualTo(expected);
  }

  @Test
  void aQueuedRequestIsToldHowLongItWaitedAndThatSluiceAddedNothingElse(@TempDir Path dir) throws Exception {
    ManualClock clock = new ManualClock();
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        upstream: %s
        pools:
          - name: nvidia
            backends: [{id: nv-1, base_url: "%s", rate_rpm: 6, capacity: 1}]
        """.formatted(sim.baseUrl(), sim.baseUrl()), Map.of(), dir, clock);

    HttpResponse<String> first = harness.post(uri(sluice, "/v1/chat/completions"), chat("nvidia/x"));
    CompletableFuture<HttpResponse<String>> second = harness.http.sendAsync(
        HttpRequest.newBuilder(uri(sluice, "/v1/chat/completions")).timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(chat("nvidia/x")))
            .build(), HttpResponse.BodyHandlers.ofString());
    await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5)).until(() ->
        JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools/0/queue/size").asInt() == 1);
    clock.advance(Duration.ofSeconds(10)); // the next token at 6 RPM
    sluice.dispatchers().getFirst().wake();
    HttpResponse<String> queued = second.get(20, TimeUnit.SECONDS);

    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue(TimingHeaders.OVERHEAD)).contains("0.000");
    assertThat(first.headers().firstValue(TimingHeaders.QUEUE)).contains("0.000");
    assertThat(queued.statusCode()).isEqualTo(200);
    assertThat(queued.headers().firstValue(TimingHeaders.QUEUE)).contains("10000.000");
    assertThat(queued.headers().firstValue(TimingHeaders.OVERHEAD)).contains("0.000");
  }

  @Test
  void passthroughAndSluicesOwnAnswersCarryTheOverheadButNoQueueTime() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));

    HttpResponse<String> passthrough = harness.post(uri(sluice, "/v1/chat/completions"), chat("unclaimed"));
    HttpResponse<String> invalid = harness.post(uri(sluice, "/v1/chat/completions"), "{\"messages\":[]}");
    HttpResponse<String> health = harness.get(uri(sluice, "/health"));

    assertThat(passthrough.statusCode()).isEqualTo(200);
    assertThat(invalid.statusCode()).isEqualTo(400);
    assertThat(health.statusCode()).isEqualTo(200);
    for (HttpResponse<String> answer : new HttpResponse[] {passthrough, invalid, health}) {
      assertThat(answer.headers().firstValue(TimingHeaders.OVERHEAD)).hasValueSatisfying(
          value -> assertThat(value).matches("\\d+\\.\\d{3}"));
      assertThat(answer.headers().firstValue(TimingHeaders.QUEUE)).isEmpty();
    }
  }

  @Test
  void anUpstreamSluicesTimingsAreNotPassedOffAsThisOnes(@TempDir Path dir) throws Exception {
    SimServer sim = harness.sim();
    Sluice inner = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
    Sluice outer = harness.sluiceFromYaml("""
        upstream: http://127.0.0.1:%d/v1
        pools:
          - name: other
            backends: [{id: other-1, base_url: "%s"}]
        """.formatted(inner.port(), sim.baseUrl()), Map.of(), dir);

    // Queued by the inner Sluice's pool nvidia, passed through by the outer one.
    HttpResponse<String> direct = harness.post(uri(inner, "/v1/chat/completions"), chat("nvidia/x"));
    HttpResponse<String> answer = harness.post(uri(outer, "/v1/chat/completions"), chat("nvidia/x"));

    assertThat(direct.headers().firstValue(TimingHeaders.QUEUE)).isPresent();
    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.headers().allValues(TimingHeaders.OVERHEAD)).hasSize(1);
    assertThat(answer.headers().firstValue(TimingHeaders.QUEUE)).isEmpty();
    assertThat(answer.headers().allValues("X-Sluice-Request-Id")).hasSize(1);
  }

  private static String chat(String model) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  }
}
