package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Sluice process killed outright ({@code kill -9}) in the middle of its traffic comes back, on the same state file,
 * with what its backends had learned and used: a dead key stays dead, a cooldown keeps running, a learned
 * concurrency limit and a tripped quota guard with its window's usage are as they were.
 */
class RestartTest {
  private static final String ADMIN_TOKEN = "restart-test-admin-token";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<SimServer> sims = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    for (Process process : processes) {
      process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    sims.forEach(SimServer::close);
  }

  private SimServer sim(SimConfig config) {
    SimServer sim = SimServer.start(config, Clock.system(), "127.0.0.1", 0);
    sims.add(sim);
    return sim;
  }

  /** Sluice as users run it: {@code serve} with a file and the state in {@code dir}; its base URL. */
  private URI serve(Path config) throws Exception {
    Process process = CommandLineTest.sluice(Map.of("SIDECAR_PORT", "0", "SIDECAR_DB_PATH",
        dir.resolve("data/sluice.db").toString(), "SIDECAR_ADMIN_TOKEN", ADMIN_TOKEN, "KEY_A", "sk-a-key",
        "KEY_B", "sk-b-key", "KEY_C", "sk-c-key"), "serve", "--config", config.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    processes.add(process);
    return URI.create(new CommandLineTest.Output(process)
        .await(Pattern.compile("^Sluice listening on (http://\\S+)/v1")));
  }

  private void killHard() throws Exception {
    Process process = processes.removeLast();
    process.destroyForcibly(); // SIGKILL: no shutdown hook, no last write
    assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
  }

  private JsonNode get(URI base, String path) throws Exception {
    HttpResponse<String> answer = http.send(HttpRequest.newBuilder(base.resolve(path))
        .header("Authorization", "Bearer " + ADMIN_TOKEN).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(path + ": " + answer.body()).isEqualTo(200);
    return JSON.readTree(answer.body());
  }

  private int send(URI base, String method, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(base.resolve(path)).method(method, HttpRequest.BodyPublishers.noBody())
        .header("Authorization", "Bearer " + ADMIN_TOKEN).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
  }

  private CompletableFuture<HttpResponse<String>> chat(URI base) {
    return http.sendAsync(HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
        .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"p/m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "tell me more ".repeat(20)
                + "\"}],\"max_tokens\":40}"))
        .build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode backend(JsonNode status, String id) {
    for (JsonNode pool : status.get("pools")) {
      for (JsonNode backend : pool.get("backends")) {
        if (backend.get("id").asText().equals(id)) {
          return backend;
        }
      }
    }
    throw new AssertionError("no backend " + id + " in " + status);
  }

  /** Waits until the state store has written a batch after {@code instant}: what was in memory then is on disk. */
  private void awaitWrittenAfter(URI base, Instant instant) {
    Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).until(() -> {
      JsonNode written = get(base, "/status").get("store").get("last_write_at");
      return !written.isNull() && Instant.parse(written.asText()).isAfter(instant);
    });
  }

  private static long totalTokens(String body) {
    try {
      return JSON.readTree(body).get("usage").get("total_tokens").asLong();
    } catch (java.io.IOException e) {
      throw new AssertionError(body, e);
    }
  }

  @Test
  void aProcessKilledMidLoadComesBackWithWhatItsBackendsLearnedAndUsed() throws Exception {
    SimServer good = sim(SimConfig.defaults().withCompletionTokens(20));
    SimServer rejecting = sim(SimConfig.defaults().withRejectedKeys(List.of("sk-b-key")));
    SimServer failing = sim(SimConfig.defaults().withErrorRate(1.0).withErrorStatus(500));
    Path config = Files.writeString(dir.resolve("sluice.yaml"), """
        pools:
          - name: p
            aliases: [p]
            selection: balanced
            max_attempts: 3
            backends:
              - {id: a, base_url: "%s", api_key_env: KEY_A, rate_rpm: 6000, capacity: 100,
                 concurrency: {mode: adaptive, max_concurrent: 8},
                 quota: {budget_tokens: 2000, window_hours: 5, probe_interval_seconds: 3600}}
              - {id: b, base_url: "%s", api_key_env: KEY_B, rate_rpm: 6000, capacity: 100}
              - {id: c, base_url: "%s", api_key_env: KEY_C, rate_rpm: 6000, capacity: 100,
                 cooldown: {base_seconds: 900, max_seconds: 900}}
        """.formatted(good.baseUrl(), rejecting.baseUrl(), failing.baseUrl()));
    URI base = serve(config);

    // Load until the budget is spent (99 % of 2000): b's key is refused (dead), c fails (cooling), a answers and
    // uses its budget.
    for (int i = 0; i < 40 && get(base, "/api/admin/quota/a").get("window_usage_tokens").asLong() < 1_980; i++) {
      assertThat(chat(base).join().statusCode()).isEqualTo(200);
    }
    assertThat(send(base, "PATCH", "/api/admin/adaptive/keys/a/limit?limit=3")).isEqualTo(200);
    for (int i = 0; i < 5; i++) {
      chat(base); // the first trips the guard; they wait for a's probe, in the queue when the process dies
    }
    Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> get(base, "/api/admin/quota/a").get("trips").asLong() == 1);
    JsonNode quotaBefore = get(base, "/api/admin/quota/a");
    JsonNode statusBefore = get(base, "/status");
    assertThat(backend(statusBefore, "b").get("state").asText()).isEqualTo("dead");
    assertThat(backend(statusBefore, "c").get("state").asText()).isEqualTo("cooling");
    // A batch written at or after the trip holds it, and everything before it (a batch compares every backend).
    awaitWrittenAfter(base, Instant.parse(quotaBefore.get("last_probe_at").asText()).minusMillis(1));
    killHard();

    URI again = serve(config);
    JsonNode quotaAfter = get(again, "/api/admin/quota/a");
    assertThat(quotaAfter.get("state").asText()).isEqualTo("QUOTA_EXCEEDED");
    assertThat(quotaAfter.get("window_usage_tokens").asLong())
        .isEqualTo(quotaBefore.get("window_usage_tokens").asLong()).isGreaterThan(0);
    assertThat(quotaAfter.get("probes").asLong()).isZero();
    JsonNode statusAfter = get(again, "/status");
    assertThat(backend(statusAfter, "b").get("state").asText()).isEqualTo("dead");
    JsonNode c = backend(statusAfter, "c");
    assertThat(c.get("state").asText()).isEqualTo("cooling");
    assertThat(c.get("cooldown_remaining_ms").asLong()).isBetween(1L, 900_000L);
    assertThat(backend(statusAfter, "a").get("concurrency_limit").asInt()).isEqualTo(3);
  }

  @Test
  void underSteadyTrafficAKillLosesAtMostTheUsageOfTheLastWrite() throws Exception {
    SimServer good = sim(SimConfig.defaults().withCompletionTokens(20));
    Path config = Files.writeString(dir.resolve("sluice.yaml"), """
        pools:
          - name: p
            aliases: [p]
            backends:
              - {id: a, base_url: "%s", api_key_env: KEY_A, rate_rpm: 6000, capacity: 100,
                 quota: {budget_tokens: 100000000, window_hours: 5}}
        """.formatted(good.baseUrl()));
    URI base = serve(config);

    // Steady traffic; the usage Sluice reported, sampled as it goes, until some was reported more than a write
    // interval and a half ago (however slowly a busy machine answers). The kill comes while requests are in flight.
    List<long[]> samples = new ArrayList<>(); // {nanoTime, window usage}
    List<CompletableFuture<HttpResponse<String>>> load = new ArrayList<>();
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    long margin = TimeUnit.MILLISECONDS.toNanos(1_500);
    while (System.nanoTime() < end && load.size() < 400
        && samples.stream().noneMatch(s -> s[1] > 0 && s[0] <= System.nanoTime() - margin)) {
      load.add(chat(base));
      samples.add(new long[] {System.nanoTime(), get(base, "/api/admin/quota/a").get("window_usage_tokens").asLong()});
    }
    long killedAt = System.nanoTime();
    killHard();

    long restored = get(serve(config), "/api/admin/quota/a").get("window_usage_tokens").asLong();
    // The keeper writes every second; allow half a second more for a loaded machine's scheduling.
    long writtenBy = killedAt - margin;
    long surelyWritten = samples.stream().filter(s -> s[0] <= writtenBy).mapToLong(s -> s[1]).max().orElse(0);
    long perRequest = load.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).findFirst()
        .orElseThrow().join().body().transform(RestartTest::totalTokens);
    assertThat(surelyWritten).as("usage reported 1.5 s before the kill").isGreaterThan(0);
    assertThat(restored).isBetween(surelyWritten, load.size() * perRequest);
  }
}
