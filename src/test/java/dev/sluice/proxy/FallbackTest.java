package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool that cannot serve in time hands its requests to its fallback pool, and what that cannot serve either goes
 * to the emergency upstream, end to end over real sockets with three simulated providers.
 */
class FallbackTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT = "{\"model\":\"primary/m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private final Harness harness = new Harness();
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  private CompletableFuture<HttpResponse<String>> chat(Sluice sluice) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return harness.post(uri(sluice, "/v1/chat/completions"), CHAT);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
  }

  private JsonNode pool(Sluice sluice, int index) throws Exception {
    return JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools/" + index);
  }

  @Test
  void aRequestThatWaitedSpillAfterMovesToTheFallbackPoolThenToTheEmergencyUpstream() throws Exception {
    // Each pool's backend has one token and then one a minute: after its first request it cannot serve in time.
    SimServer primary = harness.sim();
    SimServer reserve = harness.sim();
    SimServer emergency = harness.sim(SimConfig.defaults().withModels(List.of("m")));
    Sluice sluice = harness.sluiceFromYaml("""
        defaults: {timeout_seconds: 30}
        pools:
          - name: primary
            aliases: [primary]
            spill_after_seconds: 1
            fallback_pool: reserve
            emergency_upstream: "%s"
            backends: [{id: p1, base_url: "%s", rate_rpm: 1, capacity: 1}]
          - name: reserve
            aliases: [reserve]
            spill_after_seconds: 1
            backends: [{id: r1, base_url: "%s", rate_rpm: 1, capacity: 1}]
        """.formatted(emergency.baseUrl(), primary.baseUrl(), reserve.baseUrl()), Map.of(), dir);

    assertThat(chat(sluice).get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200); // primary's token
    List<CompletableFuture<HttpResponse<String>>> spilled = List.of(chat(sluice), chat(sluice));
    for (CompletableFuture<HttpResponse<String>> answer : spilled) {
      assertThat(answer.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }

    assertThat(primary.stats().accepted()).isEqualTo(1);
    assertThat(reserve.stats().accepted()).isEqualTo(1); // the first to move took the reserve's token
    assertThat(emergency.stats().accepted()).isEqualTo(1); // the other waited there too, then went on
    assertThat(emergency.recentRequests().getFirst().bodyText()).isEqualTo(CHAT);
    await().atMost(5, TimeUnit.SECONDS).untilAsserted(() -> {
      assertThat(pool(sluice, 0).at("/queue/spilled").asLong()).isEqualTo(2);
      assertThat(pool(sluice, 1).at("/queue/sent_to_emergency").asLong()).isEqualTo(1);
    });
  }
}
