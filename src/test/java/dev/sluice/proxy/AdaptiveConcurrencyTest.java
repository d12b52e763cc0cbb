package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adaptive concurrency end to end: against a simulated provider that allows a few requests at once (and says so
 * with {@code x-ratelimit-remaining-requests} above 0 on its 429s), the learned limit comes down from a high start
 * and climbs from a low one under sustained load, and every caller is answered.
 */
class AdaptiveConcurrencyTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "{\"model\":\"pool/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private final Harness harness = new Harness();
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  private Sluice sluice(SimServer sim, int start) throws Exception {
    return harness.sluiceFromYaml("""
        defaults: {timeout_seconds: 60}
        pools:
          - name: pool
            aliases: [pool]
            max_attempts: 10
            backends:
              - {id: b1, base_url: "%s", rate_rpm: 6000, capacity: 200,
                 concurrency: {mode: adaptive, max_concurrent: %d}}
        """.formatted(sim.baseUrl(), start), Map.of(), dir);
  }

  /** Sends {@code callers} requests at once, {@code rounds} times; every one must end in 200. */
  private void load(Sluice sluice, int callers, int rounds) throws Exception {
    for (int round = 0; round < rounds; round++) {
      List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
      for (int i = 0; i < callers; i++) {
        answers.add(CompletableFuture.supplyAsync(() -> {
          try {
            return harness.post(uri(sluice, "/v1/chat/completions"), CHAT);
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }));
      }
      for (CompletableFuture<HttpResponse<String>> answer : answers) {
        assertThat(answer.get(60, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
      }
    }
  }

  private JsonNode backend(Sluice sluice) throws Exception {
    return JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools/0/backends/0");
  }

  @Test
  void concurrency429sBringTheLearnedLimitDownToWhatTheProviderAllows() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withMaxConcurrent(2).withTtftMillis(300));
    Sluice sluice = sluice(sim, 8);

    load(sluice, 8, 3);

    JsonNode backend = backend(sluice);
    assertThat(backend.at("/concurrency_mode").asText()).isEqualTo("adaptive");
    // AIMD around the provider's 2: halved on a burst's refusals (once per burst), +1 per accepted answer at
    // high utilisation.
    assertThat(backend.at("/concurrency_limit").asInt()).isBetween(1, 3);
    assertThat(backend.at("/last_429").asText()).isEqualTo("concurrency");
    assertThat(sim.stats().rejectedByConcurrency()).isLessThan(8 * 3);
  }

  @Test
  void sustainedLoadWithoutRefusalsRaisesTheLearnedLimit() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withMaxConcurrent(20).withTtftMillis(100));
    Sluice sluice = sluice(sim, 2);

    load(sluice, 12, 6);

    assertThat(backend(sluice).at("/concurrency_limit").asInt()).isGreaterThanOrEqualTo(8);
    assertThat(sim.stats().rejectedByConcurrency()).isZero();
  }
}
