package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.RateHeaders;
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
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code GET /status} on token budgets: each backend's quota and tokens per minute, each pool's tokens. */
class StatusTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final SimServer sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
  private Sluice sluice;
  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    http.close();
    if (sluice != null) {
      sluice.close(Duration.ZERO);
    }
    sim.close();
  }

  /** Pool nvidia: b1 with a budget of 2,000 tokens and 50,000 tokens per minute, b2 with neither. */
  private void start() throws Exception {
    sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:")).loadYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: b1, base_url: "%s", tpm: 50000, quota: {budget_tokens: 2000}}
              - {id: b2, base_url: "%1$s"}
        """.formatted(sim.baseUrl()), dir), Clock.system()).start();
  }

  private HttpResponse<String> send(String method, String path, String body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.port() + path))
        .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode status() throws Exception {
    return JSON.readTree(send("GET", "/status", null).body());
  }

  @Test
  void eachBackendShowsItsQuotaAndTokensPerMinuteAndEachPoolItsTokens() throws Exception {
    start();
    HttpResponse<String> answer = send("POST", "/v1/chat/completions",
        "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    JsonNode usage = JSON.readTree(answer.body()).get("usage");
    Backend b1 = sluice.pools().getFirst().backends().getFirst();
    long reset = Duration.ofMinutes(1).toNanos();
    b1.onRateHeaders(new RateHeaders(100, 42, reset, 50_000, 31_000, reset), Clock.system().nanoTime());

    // A request is counted when it ends, which can be just after its caller has read the whole answer.
    await().atMost(Duration.ofSeconds(20)).until(() -> status().at("/pools/0/tokens/completion").asLong() > 0);
    JsonNode pool = status().at("/pools/0");

    assertThat(pool.get("tokens")).isEqualTo(JSON.readTree("{\"prompt\":" + usage.get("prompt_tokens")
        + ",\"completion\":" + usage.get("completion_tokens") + "}"));
    JsonNode one = pool.at("/backends/0");
    assertThat(one.at("/quota/state").asText()).isEqualTo("WITHIN_QUOTA");
    long used = one.at("/quota/window_usage_tokens").asLong();
    assertThat(one.at("/quota/budget_tokens").asLong()).isEqualTo(2_000);
    assertThat(one.at("/quota/usage_percent").asDouble()).isEqualTo(Math.round(used * 100 / 2_000.0 * 100) / 100.0);
    assertThat(one.get("tpm").asLong()).isEqualTo(50_000);
    assertThat(one.get("tpm_available").asLong()).isBetween(40_000L, 50_000L);
    assertThat(one.get("provider_remaining_requests").asLong()).isEqualTo(42);
    assertThat(one.get("provider_remaining_tokens").asLong()).isEqualTo(31_000);
    JsonNode two = pool.at("/backends/1");
    assertThat(two.get("quota")).isEqualTo(JSON.readTree("""
        {"state":"WITHIN_QUOTA","window_usage_tokens":0,"budget_tokens":null,"usage_percent":null}"""));
    assertThat(two.get("tpm").isNull()).isTrue();
    assertThat(two.get("tpm_available").isNull()).isTrue();
    assertThat(two.get("provider_remaining_requests").isNull()).isTrue();
    assertThat(two.get("provider_remaining_tokens").isNull()).isTrue();
  }

  @Test
  void aBackendWhoseBudgetIsSpentIsQuotaExceeded() throws Exception {
    start();
    Backend b1 = sluice.pools().getFirst().backends().getFirst();
    // An answer that used the whole budget, released as the forwarder releases each answer with its usage; the
    // next request asking for b1 finds it spent.
    Backend.Grant grant = b1.tryAcquire(Clock.system().nanoTime());
    ((Backend.Granted) grant).permit().release(new Attempt(200, 0).withUsage(2_000, false));
    assertThat(b1.tryAcquire(Clock.system().nanoTime())).isInstanceOf(Backend.Wait.class);

    JsonNode one = status().at("/pools/0/backends/0");

    assertThat(one.get("state").asText()).isEqualTo("quota_exceeded");
    assertThat(one.get("quota")).isEqualTo(JSON.readTree("""
        {"state":"QUOTA_EXCEEDED","window_usage_tokens":2000,"budget_tokens":2000,"usage_percent":100.0}"""));
  }
}
