package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /api/admin/adaptive/}: each backend's concurrency limit read and changed over real sockets. */
class AdaptiveApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> WITH_TOKEN = Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN);
  private static final String NO_429S = "{\"rpm\":0,\"tpm\":0,\"concurrency\":0,\"unknown\":0}";
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /** Pool nvidia: nv-1 (fixed, 4) and nv-2 (adaptive from 8) before {@code upstream}; pool solo: one backend. */
  private AdminHarness twoPools(String upstream) throws Exception {
    return harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: nv-1, base_url: "%1$s", api_key_env: SIM_KEY, concurrency: {mode: fixed, max_concurrent: 4}}
              - {id: nv-2, base_url: "%1$s", api_key_env: SIM_KEY, concurrency: {mode: adaptive, max_concurrent: 8}}
          - name: solo
            aliases: [solo]
            backends: [{id: solo-1, base_url: "%1$s"}]
        """.formatted(upstream), WITH_TOKEN, dir);
  }

  private JsonNode key(String id) throws Exception {
    for (JsonNode key : harness.adminJson("GET", "/api/admin/adaptive/keys", null).get("keys")) {
      if (key.get("id").asText().equals(id)) {
        return key;
      }
    }
    throw new AssertionError("no key " + id);
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  @Test
  void keysListEveryBackendByIdWithModeLimitInFlightAnd429s() throws Exception {
    twoPools(harness.sim.baseUrl());

    HttpResponse<String> all = harness.admin("GET", "/api/admin/adaptive/keys", null);
    JsonNode solo = harness.adminJson("GET", "/api/admin/adaptive/keys?pool=solo", null);

    assertThat(all.statusCode()).isEqualTo(200);
    assertThat(json(all).get("keys")).extracting(k -> k.get("id").asText()).containsExactly("nv-1", "nv-2", "solo-1");
    assertThat(json(all).at("/keys/0")).isEqualTo(JSON.readTree("""
        {"id":"nv-1","pool":"nvidia","mode":"fixed","limit":4,"in_flight":0,"upstream_429s":%s,
         "last_429_at":null,"last_429_type":null}""".formatted(NO_429S)));
    assertThat(json(all).at("/keys/1/mode").asText()).isEqualTo("adaptive");
    assertThat(json(all).at("/keys/1/limit").asInt()).isEqualTo(8);
    assertThat(solo.get("keys")).extracting(k -> k.get("id").asText()).containsExactly("solo-1");
    assertThat(all.body()).doesNotContain(AdminHarness.KEY).doesNotContain("nvap");
  }

  @Test
  void anUnknownPoolOrKeyIs404() throws Exception {
    twoPools(harness.sim.baseUrl());

    HttpResponse<String> pool = harness.admin("GET", "/api/admin/adaptive/keys?pool=openai", null);
    HttpResponse<String> key = harness.admin("GET", "/api/admin/adaptive/keys/nv-9/stats", null);
    HttpResponse<String> mode = harness.admin("PATCH", "/api/admin/adaptive/keys/nv-9/mode", "{\"enabled\":true}");

    assertThat(pool.statusCode()).isEqualTo(404);
    assertThat(json(pool).get("error")).isEqualTo(JSON.readTree("""
        {"message":"No pool named openai (pools: nvidia, solo).","type":"invalid_request_error","code":"not_found",
         "param":"pool"}"""));
    assertThat(key.statusCode()).isEqualTo(404);
    assertThat(json(key).at("/error/message").asText()).isEqualTo("No backend with id nv-9 (backends: nv-1, nv-2,"
        + " solo-1).");
    assertThat(mode.statusCode()).isEqualTo(404);
  }

  @Test
  void the429sOfABackendAreCountedByKindWithTheTimeOfTheLast() throws Exception {
    // Without rate-limit headers: with them Sluice would not send the request that the 429 answers.
    SimServer limited = harness.closing(SimServer.start(SimConfig.defaults().withRpm(1).withBurst(1)
        .withRateHeaders(false), Clock.system(), "127.0.0.1", 0));
    harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: nv-1, base_url: "%s", rate_rpm: 6000, capacity: 100}
              - {id: nv-2, base_url: "%s", rate_rpm: 6000, capacity: 100}
        """.formatted(limited.baseUrl(), harness.sim.baseUrl()), WITH_TOKEN, dir);
    Instant before = Instant.now().minusSeconds(1);
    assertThat(harness.chatAsync("a", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    // The limited upstream's only request is spent: the next gets its 429 and goes to nv-2.
    assertThat(harness.chatAsync("b", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);

    JsonNode refused = key("nv-1");

    assertThat(refused.get("upstream_429s").toString())
        .isEqualTo("{\"rpm\":0,\"tpm\":0,\"concurrency\":0,\"unknown\":1}");
    assertThat(refused.get("last_429_type").asText()).isEqualTo("unknown");
    assertThat(Instant.parse(refused.get("last_429_at").asText())).isBetween(before, Instant.now());
    assertThat(key("nv-2").get("upstream_429s").toString()).isEqualTo(NO_429S);
    JsonNode summary = harness.adminJson("GET", "/api/admin/adaptive/summary", null);
    assertThat(summary.at("/pools/0/upstream_429s/unknown").asInt()).isEqualTo(1);
    assertThat(summary.at("/overall/upstream_429s/unknown").asInt()).isEqualTo(1);
  }

  @Test
  void modeSwitchesToLearningAndBackToAFixedLimitWithHistoryAndAudit() throws Exception {
    twoPools(harness.sim.baseUrl());

    HttpResponse<String> adaptive = harness.admin("PATCH", "/api/admin/adaptive/keys/nv-1/mode",
        "{\"enabled\":true,\"fixed_limit\":6}");
    HttpResponse<String> fixed = harness.admin("PATCH", "/api/admin/adaptive/keys/nv-1/mode",
        "{\"enabled\":false,\"fixed_limit\":2}");
    HttpResponse<String> fromCurrent = harness.admin("PATCH", "/api/admin/adaptive/keys/nv-1/mode",
        "{\"enabled\":true}");

    assertThat(adaptive.statusCode()).isEqualTo(200);
    assertThat(json(adaptive).at("/mode").asText()).isEqualTo("adaptive");
    assertThat(json(adaptive).at("/limit").asInt()).isEqualTo(6);
    assertThat(json(fixed).at("/mode").asText()).isEqualTo("fixed");
    assertThat(json(fixed).at("/limit").asInt()).isEqualTo(2);
    assertThat(json(fromCurrent).at("/limit").asInt()).as("starts from the limit in force").isEqualTo(2);
    JsonNode history = json(fromCurrent).get("history");
    assertThat(history).extracting(h -> h.get("from").asInt() + "->" + h.get("to").asInt() + " "
        + h.get("reason").asText()).containsExactly("4->6 adaptive mode set by an operator",
        "6->2 fixed mode set by an operator", "2->2 adaptive mode set by an operator");
    assertThat(Instant.parse(history.at("/0/at").asText())).isBefore(Instant.now().plusSeconds(1));
    assertThat(harness.events("sluice.audit")).extracting(e -> e.getFormattedMessage()).containsExactly(
        "admin changed pools.nvidia.backends.nv-1.concurrency: fixed, limit 4 -> adaptive, limit 6",
        "admin changed pools.nvidia.backends.nv-1.concurrency: adaptive, limit 6 -> fixed, limit 2",
        "admin changed pools.nvidia.backends.nv-1.concurrency: fixed, limit 2 -> adaptive, limit 2");
  }

  @Test
  void aBadModeBodyIs400NamingTheField() throws Exception {
    twoPools(harness.sim.baseUrl());
    String path = "/api/admin/adaptive/keys/nv-1/mode";

    Map<String, String> refused = Map.of(
        "{\"enabled\":false}", "fixed_limit: is required when enabled is false: the limit to keep, 1..100",
        "{\"enabled\":true,\"fixed_limit\":0}", "fixed_limit: 0 is outside 1..100",
        "{\"enabled\":true,\"fixed_limit\":101}", "fixed_limit: 101 is outside 1..100",
        "{\"enabled\":false,\"fixed_limit\":\"4\"}", "fixed_limit: \"4\" is not an integer in 1..100",
        "{\"enabled\":\"yes\"}", "enabled: \"yes\" is not a boolean (true or false)",
        "{\"fixed_limit\":4}", "enabled: is required: true learns the limit, false keeps fixed_limit fixed",
        "{\"enabled\":true,\"limit\":4}", "limit: unknown key; the body takes enabled (true: learn the limit, false:"
            + " keep fixed_limit fixed) and fixed_limit");
    for (var entry : refused.entrySet()) {
      HttpResponse<String> response = harness.admin("PATCH", path, entry.getKey());
      JsonNode error = json(response).get("error");
      assertThat(response.statusCode()).as(entry.getKey()).isEqualTo(400);
      assertThat(error.get("message").asText()).as(entry.getKey()).isEqualTo(entry.getValue());
      assertThat(error.get("param").asText()).isEqualTo(entry.getValue().substring(0, entry.getValue().indexOf(':')));
      assertThat(error.get("code").asText()).isEqualTo("invalid_value");
    }
    HttpResponse<String> notAnObject = harness.admin("PATCH", path, "[true]");
    HttpResponse<String> text = harness.send("PATCH", path, "{\"enabled\":true}", "Authorization",
        "Bearer " + AdminHarness.TOKEN, "Content-Type", "text/plain");
    assertThat(notAnObject.statusCode()).isEqualTo(400);
    assertThat(json(notAnObject).at("/error/code").asText()).isEqualTo("invalid_json");
    assertThat(text.statusCode()).isEqualTo(415);
    assertThat(key("nv-1").get("mode").asText()).isEqualTo("fixed");
    assertThat(harness.events("sluice.audit")).isEmpty();
  }

  @Test
  void theLimitIsSetFromTheQueryAndABadOneIs400() throws Exception {
    twoPools(harness.sim.baseUrl());
    String path = "/api/admin/adaptive/keys/nv-2/limit";

    HttpResponse<String> set = harness.send("PATCH", path + "?limit=3", null, "Authorization",
        "Bearer " + AdminHarness.TOKEN);

    assertThat(set.statusCode()).isEqualTo(200);
    assertThat(json(set).at("/limit").asInt()).isEqualTo(3);
    assertThat(json(set).at("/mode").asText()).isEqualTo("adaptive");
    assertThat(json(set).at("/history/0/reason").asText()).isEqualTo("set by an operator");
    for (var refused : Map.of(
        "", "limit: is required: PATCH /api/admin/adaptive/keys/nv-2/limit?limit=N with N in 1..100",
        "?limit=abc", "limit: abc is not an integer in 1..100",
        "?limit=0", "limit: 0 is outside 1..100",
        "?limit=101", "limit: 101 is outside 1..100",
        "?limit=2&limit=3", "limit: is given 2 times; give it once").entrySet()) {
      HttpResponse<String> response = harness.admin("PATCH", path + refused.getKey(), null);
      assertThat(response.statusCode()).as(refused.getKey()).isEqualTo(400);
      assertThat(json(response).at("/error/message").asText()).isEqualTo(refused.getValue());
      assertThat(json(response).at("/error/param").asText()).isEqualTo("limit");
    }
    assertThat(key("nv-2").get("limit").asInt()).isEqualTo(3);
  }

  @Test
  void aRaisedLimitLetsAWaitingRequestGoAtOnce() throws Exception {
    TestUpstream upstream = harness.closing(TestUpstream.holding());
    harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: nv-1, base_url: "%s", rate_rpm: 6000, capacity: 100, concurrency: {max_concurrent: 1}}
        """.formatted(upstream.baseUrl()), WITH_TOKEN, dir);
    CompletableFuture<HttpResponse<String>> first = harness.chatAsync("first", "normal");
    await().atMost(10, TimeUnit.SECONDS).until(() -> upstream.received() == 1);
    CompletableFuture<HttpResponse<String>> second = harness.chatAsync("second", "normal");
    await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5))
        .until(() -> harness.status().at("/pools/0/queue/size").asInt() == 1);

    harness.admin("PATCH", "/api/admin/adaptive/keys/nv-1/limit?limit=2", null);

    await().atMost(10, TimeUnit.SECONDS).until(() -> upstream.received() == 2);
    assertThat(key("nv-1").get("in_flight").asInt()).isEqualTo(2);
    upstream.release();
    assertThat(List.of(first.get(20, TimeUnit.SECONDS), second.get(20, TimeUnit.SECONDS)))
        .allSatisfy(response -> assertThat(response.statusCode()).isEqualTo(200));
  }

  @Test
  void forgettingReturnsToTheStartingPointAndClearsTheHistory() throws Exception {
    twoPools(harness.sim.baseUrl());
    harness.admin("PATCH", "/api/admin/adaptive/keys/nv-2/limit?limit=3", null);
    assertThat(harness.chatAsync("a", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);

    HttpResponse<String> forgotten = harness.admin("DELETE", "/api/admin/adaptive/keys/nv-2/learning", null);
    JsonNode stats = harness.adminJson("GET", "/api/admin/adaptive/keys/nv-2/stats", null);

    assertThat(forgotten.statusCode()).isEqualTo(200);
    assertThat(stats.get("limit").asInt()).isEqualTo(8);
    assertThat(stats.get("history")).isEmpty();
    assertThat(stats.get("state").asText()).isEqualTo("active");
    JsonNode first = harness.adminJson("GET", "/api/admin/adaptive/keys/nv-1/stats", null);
    assertThat(first.get("successes").asLong()).as("the ordered pool sent the chat to nv-1").isEqualTo(1);
    assertThat(harness.events("sluice.audit").getLast().getFormattedMessage()).isEqualTo("admin changed"
        + " pools.nvidia.backends.nv-2.concurrency.learning: adaptive, limit 3, 1 adjustment kept -> forgotten:"
        + " adaptive, limit 8");
  }

  @Test
  void theSummaryAddsUpEachPoolAndEverything() throws Exception {
    twoPools(harness.sim.baseUrl());
    harness.admin("PATCH", "/api/admin/backends/solo-1", "{\"enabled\":false}");

    JsonNode summary = harness.adminJson("GET", "/api/admin/adaptive/summary", null);

    assertThat(summary).isEqualTo(JSON.readTree("""
        {"pools":[{"pool":"nvidia","backends":2,"in_service":2,"adaptive":1,"limit_sum":12,"in_flight":0,
                   "upstream_429s":%1$s},
                  {"pool":"solo","backends":1,"in_service":0,"adaptive":0,"limit_sum":8,"in_flight":0,
                   "upstream_429s":%1$s}],
         "overall":{"backends":3,"in_service":2,"adaptive":1,"limit_sum":20,"in_flight":0,"upstream_429s":%1$s}}
        """.formatted(NO_429S)));
  }
}
