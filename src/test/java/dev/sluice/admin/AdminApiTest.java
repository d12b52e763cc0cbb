package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigLoader;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The admin API over real sockets: Sluice in front of the simulated provider, changed while it runs. */
class AdminApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> WITH_TOKEN = Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN);
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /** Sluice at 1 RPM with a bucket of 1, its one token already spent on a first chat. */
  private AdminHarness slowSluice(String defaults, String poolExtras, Map<String, String> env) throws Exception {
    harness.start(defaults, poolExtras, "rate_rpm: 1, capacity: 1", env, dir);
    assertThat(harness.chatAsync("first", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    return harness;
  }

  private void awaitQueued(int size) {
    await().atMost(10, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(5))
        .until(() -> harness.status().at("/pools/0/queue/size").asInt() == size);
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  // ------------------------------------------------------------------------------------------------ auth matrix

  @Test
  void withATokenAMissingHeaderGets401WithTheBearerChallenge() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> missing = harness.send("GET", "/api/admin/config", null);
    HttpResponse<String> basic = harness.send("GET", "/api/admin/config", null, "Authorization", "Basic YTpi");

    assertThat(missing.statusCode()).isEqualTo(401);
    assertThat(missing.headers().firstValue("WWW-Authenticate")).contains("Bearer");
    assertThat(missing.headers().firstValue("Cache-Control")).contains("no-store");
    assertThat(missing.headers().firstValue("X-Sluice-Request-Id")).isPresent();
    assertThat(json(missing).at("/error/code").asText()).isEqualTo("missing_admin_token");
    assertThat(json(missing).at("/error/type").asText()).isEqualTo("authentication_error");
    assertThat(basic.statusCode()).isEqualTo(401);
  }

  @Test
  void withATokenAWrongOneGets403() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> wrong = harness.send("GET", "/api/admin/config", null,
        "Authorization", "Bearer " + AdminHarness.TOKEN + "x");

    assertThat(wrong.statusCode()).isEqualTo(403);
    assertThat(json(wrong).at("/error/code").asText()).isEqualTo("invalid_admin_token");
    assertThat(wrong.body()).doesNotContain(AdminHarness.TOKEN);
  }

  @Test
  void withATokenTheRightOneIsServed() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> right = harness.admin("GET", "/api/admin/config", null);

    assertThat(right.statusCode()).isEqualTo(200);
    assertThat(right.headers().firstValue("Cache-Control")).contains("no-store");
    assertThat(right.headers().firstValue("Content-Type")).contains("application/json");
  }

  @Test
  void withoutATokenOnLoopbackEveryCallerIsServed() throws Exception {
    harness.start("", "", "", Map.of(), dir);

    assertThat(harness.send("GET", "/api/admin/config", null).statusCode()).isEqualTo(200);
    assertThat(harness.send("GET", "/api/admin/pools", null).statusCode()).isEqualTo(200);
  }

  @Test
  void withoutATokenBeyondLoopbackSluiceDoesNotStart() {
    assertThatThrownBy(() -> new ConfigLoader(Map.of("SIDECAR_HOST", "0.0.0.0")).load())
        .isInstanceOf(ConfigException.class)
        .hasMessage("SIDECAR_ADMIN_TOKEN: is not set, but Sluice listens on 0.0.0.0, beyond loopback, where anyone"
            + " who reaches the port could change its settings through the admin API; set a token, or listen on"
            + " 127.0.0.1");
  }

  @Test
  void anUnknownAdminPathIs404AndAWrongMethod405WithAllow() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> unknown = harness.admin("GET", "/api/admin/nothing", null);
    HttpResponse<String> unauthenticated = harness.send("GET", "/api/admin/nothing", null);
    HttpResponse<String> delete = harness.admin("DELETE", "/api/admin/config", null);
    HttpResponse<String> post = harness.admin("POST", "/api/admin/pools", "{}");

    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(json(unknown).at("/error/code").asText()).isEqualTo("not_found");
    assertThat(unauthenticated.statusCode()).isEqualTo(401);
    assertThat(delete.statusCode()).isEqualTo(405);
    assertThat(delete.headers().firstValue("Allow")).contains("GET, POST");
    assertThat(json(delete).at("/error/code").asText()).isEqualTo("method_not_allowed");
    assertThat(post.headers().firstValue("Allow")).contains("GET");
  }

  // ------------------------------------------------------------------------------------------------ other sites

  @Test
  void aPostWhoseBodyIsNotDeclaredJsonGets415() throws Exception {
    harness.start("", "", "rate_rpm: 40", Map.of(), dir);

    // What a page may send cross-site without a preflight: text/plain, a form, or no type at all.
    HttpResponse<String> text = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":1}",
        "Content-Type", "text/plain");
    HttpResponse<String> form = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":1}",
        "Content-Type", "application/x-www-form-urlencoded");
    HttpResponse<String> none = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":1}");
    HttpResponse<String> json = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":41}",
        "Content-Type", "application/json; charset=utf-8");

    assertThat(List.of(text, form, none)).allSatisfy(refused -> {
      assertThat(refused.statusCode()).isEqualTo(415);
      assertThat(json(refused).at("/error/code").asText()).isEqualTo("unsupported_content_type");
    });
    assertThat(json.statusCode()).isEqualTo(200);
    assertThat(harness.status().at("/pools/0/backends/0/bucket/rate_rpm").asInt()).isEqualTo(41);
  }

  @Test
  void anotherSitesOriginGets403EvenWithTheRightToken() throws Exception {
    harness.start("", "", "rate_rpm: 40", WITH_TOKEN, dir);
    String self = "http://127.0.0.1:" + harness.sluice.port();

    HttpResponse<String> foreign = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":1}",
        "Authorization", "Bearer " + AdminHarness.TOKEN, "Content-Type", "application/json",
        "Origin", "http://evil.example");
    HttpResponse<String> otherPort = harness.send("GET", "/api/admin/config", null,
        "Authorization", "Bearer " + AdminHarness.TOKEN, "Origin", "http://127.0.0.1:1");
    HttpResponse<String> opaque = harness.send("GET", "/api/admin/config", null,
        "Authorization", "Bearer " + AdminHarness.TOKEN, "Origin", "null");
    HttpResponse<String> fetchMetadata = harness.send("GET", "/api/admin/config", null,
        "Authorization", "Bearer " + AdminHarness.TOKEN, "Sec-Fetch-Site", "cross-site");
    // The dashboard: same origin, JSON.
    HttpResponse<String> dashboard = harness.send("POST", "/api/admin/config", "{\"rate_rpm\":42}",
        "Authorization", "Bearer " + AdminHarness.TOKEN, "Content-Type", "application/json",
        "Origin", self, "Sec-Fetch-Site", "same-origin");

    assertThat(List.of(foreign, otherPort, opaque, fetchMetadata)).allSatisfy(refused -> {
      assertThat(refused.statusCode()).isEqualTo(403);
      assertThat(json(refused).at("/error/code").asText()).isEqualTo("cross_site_request");
    });
    assertThat(dashboard.statusCode()).isEqualTo(200);
    assertThat(harness.status().at("/pools/0/backends/0/bucket/rate_rpm").asInt()).isEqualTo(42);
    assertThat(harness.events("sluice.audit")).hasSize(1);
  }

  @Test
  void withoutATokenOnlyALoopbackHostIsServed() throws Exception {
    harness.start("", "", "", Map.of(), dir);
    int port = harness.sluice.port();

    String rebound = rawGet("evil.example:" + port);
    String rebound80 = rawGet("evil.example");

    assertThat(rebound).startsWith("HTTP/1.1 403 ").contains("\"code\":\"non_loopback_host\"");
    assertThat(rebound80).startsWith("HTTP/1.1 403 ");
    assertThat(rawGet("localhost:" + port)).startsWith("HTTP/1.1 200 ");
    assertThat(rawGet("127.0.0.1")).startsWith("HTTP/1.1 200 ");
    assertThat(rawGet("[::1]:" + port)).startsWith("HTTP/1.1 200 ");
  }

  @Test
  void withATokenAnyHostIsServed() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    assertThat(rawGet("sluice.internal:" + harness.sluice.port(), "Authorization: Bearer " + AdminHarness.TOKEN))
        .startsWith("HTTP/1.1 200 ");
  }

  /** GET /api/admin/config over a plain socket, with the Host header no HTTP client lets a caller choose. */
  private String rawGet(String host, String... headers) throws Exception {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", harness.sluice.port())) {
      socket.setSoTimeout(10_000);
      String head = "GET /api/admin/config HTTP/1.1\r\nHost: " + host + "\r\n"
          + String.join("", java.util.Arrays.stream(headers).map(h -> h + "\r\n").toList())
          + "Connection: close\r\n\r\n";
      socket.getOutputStream().write(head.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      return new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  // ------------------------------------------------------------------------------------------------ reading

  @Test
  void getConfigShowsTheHotReloadableSettingsWithTheKeyMasked() throws Exception {
    harness.start("", "", "rate_rpm: 40, capacity: 40", WITH_TOKEN, dir);

    HttpResponse<String> response = harness.admin("GET", "/api/admin/config", null);

    assertThat(json(response)).isEqualTo(JSON.readTree("""
        {"log_level":"INFO",
         "defaults":{"timeout_seconds":60,"low_priority_timeout_seconds":2,
           "retreat":{"enabled":true,"window_seconds":60,"enter_percent":5,"cut_again_percent":10,"alert_percent":20,
                      "recover_below_percent":2,"recover_after_seconds":120,"floor_rpm":5,"min_sample":20,
                      "min_sample_seconds":20,"recovery_step_rpm":2,"evaluation_interval_seconds":10}},
         "default_pool":null,
         "pools":[{"name":"nvidia","models":[],"queue_max_size":500,"full_policy":"passthrough",
           "max_attempts":3,"selection":"ordered","first_byte_timeout_seconds":null,"retry_budget_percent":20,
           "spill_after_seconds":5,"fallback_pool":null,"emergency_upstream":null,
           "stream_usage":true,"default_max_tokens":1024,
           "quota_errors":{"statuses":[400,402,403,429],
             "patterns":["insufficient_quota","billing_hard_limit_reached","credit balance","usage limit",
                         "insufficient credits","insufficient balance","payment required","perday"]},
           "backends":[{"id":"sim-1","base_url":"%s","api_key":"nvap****","rate_rpm":40,"capacity":40,
             "concurrency":{"mode":"fixed","max_concurrent":8},
             "cooldown":{"base_seconds":5,"max_seconds":300,"exponential":true,"precheck_seconds":2}}]}],
         "rate_rpm":40,"queue_max_size":500,"fallback_enabled_passthrough":true}
        """.formatted(harness.sim.baseUrl())));
  }

  @Test
  void getPoolsShowsDepthPerPriorityAndTheBackendsState() throws Exception {
    slowSluice("", "", WITH_TOKEN);
    CompletableFuture<HttpResponse<String>> high = harness.chatAsync("h", "high");
    CompletableFuture<HttpResponse<String>> low = harness.chatAsync("l", "low");
    awaitQueued(2);

    JsonNode pool = harness.adminJson("GET", "/api/admin/pools", null).at("/pools/0");

    assertThat(pool.at("/name").asText()).isEqualTo("nvidia");
    assertThat(pool.at("/queue/size").asInt()).isEqualTo(2);
    assertThat(pool.at("/queue/depth/high").asInt()).isEqualTo(1);
    assertThat(pool.at("/queue/depth/low").asInt()).isEqualTo(1);
    assertThat(pool.at("/queue/depth/normal").asInt()).isZero();
    JsonNode backend = pool.at("/backends/0");
    assertThat(backend.at("/id").asText()).isEqualTo("sim-1");
    assertThat(backend.at("/api_key").asText()).isEqualTo("nvap****");
    assertThat(backend.at("/rate_rpm").asInt()).isEqualTo(1);
    assertThat(backend.at("/tokens").asInt()).isZero();
    assertThat(backend.at("/retreat_state").asText()).isEqualTo("NORMAL");
    harness.admin("POST", "/api/admin/config", "{\"rate_rpm\":6000}");
    assertThat(high.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    low.get(20, TimeUnit.SECONDS);
  }

  // ------------------------------------------------------------------------------------------------ changing

  @Test
  void aHigherRateLetsTheQueuedRequestsGoAndShowsInStatus() throws Exception {
    slowSluice("", "", WITH_TOKEN);
    CompletableFuture<HttpResponse<String>> waiting = harness.chatAsync("waiting", "normal");
    awaitQueued(1);

    HttpResponse<String> response = harness.admin("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"sim-1\",\"rate_rpm\":6000}]}]}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(json(response).at("/changed")).isEqualTo(JSON.readTree(
        "[{\"key\":\"pools.nvidia.backends.sim-1.rate_rpm\",\"old\":1,\"new\":6000}]"));
    assertThat(json(response).at("/config/rate_rpm").asInt()).isEqualTo(6000);
    // At 1 RPM the next token was a minute away.
    assertThat(waiting.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    JsonNode backend = harness.status().at("/pools/0/backends/0");
    assertThat(backend.at("/bucket/rate_rpm").asInt()).isEqualTo(6000);
    assertThat(backend.at("/retreat/base_rpm").asInt()).isEqualTo(6000);
  }

  @Test
  void aRateSetByTheAdminApiIsLoggedAndShownAsSuchNotAsARetreatCut() throws Exception {
    harness.start("", "", "rate_rpm: 40", WITH_TOKEN, dir);
    Logger retreatLogger = (Logger) LoggerFactory.getLogger("sluice.retreat");
    Level before = retreatLogger.getLevel();
    retreatLogger.setLevel(Level.INFO);
    try {
      harness.admin("POST", "/api/admin/config", "{\"rate_rpm\":30}");
    } finally {
      retreatLogger.setLevel(before);
    }

    List<ILoggingEvent> retreat = harness.events("sluice.retreat");
    assertThat(retreat).hasSize(1);
    assertThat(retreat.getFirst().getLevel()).isEqualTo(Level.INFO);
    assertThat(retreat.getFirst().getFormattedMessage()).isEqualTo("rate set by the admin API");
    assertThat(AdminHarness.value(retreat.getFirst(), "from_rpm")).isEqualTo(40);
    assertThat(AdminHarness.value(retreat.getFirst(), "to_rpm")).isEqualTo(30);
    await().atMost(10, TimeUnit.SECONDS).untilAsserted(() -> {
      JsonNode dashboard = JSON.readTree(harness.send("GET", "/api/dashboard", null).body());
      assertThat(dashboard.findValuesAsText("kind")).contains("admin").doesNotContain("cut");
    });
  }

  @Test
  void aChangeIsAuditedOneLinePerKeyWithoutSecrets() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    harness.admin("POST", "/api/admin/config", "{\"queue_max_size\":200,\"fallback_enabled_passthrough\":false}");

    List<ILoggingEvent> audit = harness.events("sluice.audit");
    assertThat(audit).hasSize(2);
    assertThat(AdminHarness.value(audit.get(0), "key")).isEqualTo("pools.nvidia.queue_max_size");
    assertThat(AdminHarness.value(audit.get(0), "old")).isEqualTo(500);
    assertThat(AdminHarness.value(audit.get(0), "new")).isEqualTo(200);
    assertThat(AdminHarness.value(audit.get(0), "remote")).isEqualTo("127.0.0.1");
    assertThat(audit.get(0).getFormattedMessage()).isEqualTo("admin changed pools.nvidia.queue_max_size: 500 -> 200");
    assertThat(AdminHarness.value(audit.get(1), "key")).isEqualTo("pools.nvidia.full_policy");
    assertThat(AdminHarness.value(audit.get(1), "new")).isEqualTo("reject");
  }

  @Test
  void theKeyNeverAppearsInAnAdminAnswerOrALogLine() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    List<HttpResponse<String>> answers;
    try {
      answers = answersWhileLoggingAtDebug();
    } finally {
      root.setLevel(before);
    }

    assertThat(answers).allSatisfy(answer -> assertThat(answer.body())
        .doesNotContain(AdminHarness.KEY.substring(4)).doesNotContain(AdminHarness.TOKEN));
    assertThat(answers.get(3).statusCode()).isEqualTo(400);
    assertThat(harness.logLines()).isNotEmpty().allSatisfy(line -> assertThat(line)
        .doesNotContain(AdminHarness.KEY.substring(4)).doesNotContain(AdminHarness.TOKEN));
  }

  private List<HttpResponse<String>> answersWhileLoggingAtDebug() throws Exception {
    return List.of(
        harness.admin("GET", "/api/admin/config", null),
        harness.admin("GET", "/api/admin/pools", null),
        harness.admin("POST", "/api/admin/config", "{\"rate_rpm\":50,\"log_level\":\"DEBUG\"}"),
        harness.admin("POST", "/api/admin/config", "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"sim-1\","
            + "\"api_key\":\"" + AdminHarness.KEY + "x\"}]}]}"),
        harness.admin("POST", "/api/admin/config", "{\"log_level\":\"INFO\"}"),
        harness.send("GET", "/api/admin/config", null, "Authorization", "Bearer " + AdminHarness.KEY),
        harness.chatAsync("chat", "normal").get(20, TimeUnit.SECONDS));
  }

  @Test
  void theQueueCannotShrinkBelowTheRequestsWaitingInIt() throws Exception {
    slowSluice("", "queue_max_size: 10", WITH_TOKEN);
    List<CompletableFuture<HttpResponse<String>>> waiting = List.of(harness.chatAsync("w1", "normal"),
        harness.chatAsync("w2", "normal"), harness.chatAsync("w3", "normal"));
    awaitQueued(3);

    HttpResponse<String> flat = harness.admin("POST", "/api/admin/config", "{\"queue_max_size\":2,\"rate_rpm\":9}");
    HttpResponse<String> nested = harness.admin("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"queue_max_size\":2}]}");

    assertThat(flat.statusCode()).isEqualTo(409);
    assertThat(json(flat)).isEqualTo(JSON.readTree("""
        {"error":{"message":"queue_max_size: 2 is below the 3 requests waiting in pool nvidia",
                  "type":"invalid_request_error","code":"queue_below_depth","param":"queue_max_size"}}"""));
    assertThat(json(nested).at("/error/message").asText())
        .isEqualTo("pools[0].queue_max_size: 2 is below the 3 requests waiting in pool nvidia");
    assertThat(json(nested).at("/error/param").asText()).isEqualTo("pools[0].queue_max_size");
    // All or nothing: the rate in the refused body did not apply either.
    assertThat(harness.status().at("/pools/0/backends/0/bucket/rate_rpm").asInt()).isEqualTo(1);
    assertThat(harness.status().at("/pools/0/queue/max_size").asInt()).isEqualTo(10);
    assertThat(harness.admin("POST", "/api/admin/config", "{\"queue_max_size\":3}").statusCode()).isEqualTo(200);
    assertThat(harness.status().at("/pools/0/queue/max_size").asInt()).isEqualTo(3);

    harness.admin("POST", "/api/admin/config", "{\"rate_rpm\":6000}");
    for (CompletableFuture<HttpResponse<String>> w : waiting) {
      assertThat(w.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
  }

  @Test
  void fullPolicyRejectMakesTheNextOverflow503() throws Exception {
    slowSluice("", "queue_max_size: 1\n    full_policy: passthrough", WITH_TOKEN);
    CompletableFuture<HttpResponse<String>> waiting = harness.chatAsync("waiting", "normal");
    awaitQueued(1);

    assertThat(harness.admin("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"full_policy\":\"reject\"}]}").statusCode()).isEqualTo(200);
    HttpResponse<String> overflow = harness.chatAsync("overflow", "normal").get(10, TimeUnit.SECONDS);

    assertThat(overflow.statusCode()).isEqualTo(503);
    assertThat(json(overflow).at("/error/code").asText()).isEqualTo("queue_full");
    assertThat(harness.status().at("/pools/0/queue/full_policy").asText()).isEqualTo("reject");
    harness.admin("POST", "/api/admin/config", "{\"rate_rpm\":6000}");
    assertThat(waiting.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
  }

  @Test
  void theLegacyFlatBodyChangesTheDefaultPoolAndItsBackend() throws Exception {
    harness.start("", "", "rate_rpm: 40", WITH_TOKEN, dir);

    HttpResponse<String> response = harness.admin("POST", "/api/admin/config",
        "{\"rate_rpm\":30,\"queue_max_size\":200,\"fallback_enabled_passthrough\":false}");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode pool = harness.status().at("/pools/0");
    assertThat(pool.at("/backends/0/bucket/rate_rpm").asInt()).isEqualTo(30);
    assertThat(pool.at("/queue/max_size").asInt()).isEqualTo(200);
    assertThat(pool.at("/queue/full_policy").asText()).isEqualTo("reject");
    JsonNode config = harness.adminJson("GET", "/api/admin/config", null);
    assertThat(config.at("/rate_rpm").asInt()).isEqualTo(30);
    assertThat(config.at("/queue_max_size").asInt()).isEqualTo(200);
    assertThat(config.at("/fallback_enabled_passthrough").asBoolean()).isFalse();
  }

  @Test
  void capacityChangesTheBucket() throws Exception {
    harness.start("", "", "rate_rpm: 60, capacity: 40", WITH_TOKEN, dir);

    harness.admin("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"sim-1\",\"capacity\":3}]}]}");

    JsonNode bucket = harness.status().at("/pools/0/backends/0/bucket");
    assertThat(bucket.at("/capacity").asInt()).isEqualTo(3);
    assertThat(bucket.at("/tokens").asInt()).isEqualTo(3);
  }

  @Test
  void aShorterLowTimeoutAnswersTheWaitingLowRequest() throws Exception {
    slowSluice("low_priority_timeout_seconds: 600", "", WITH_TOKEN);
    CompletableFuture<HttpResponse<String>> low = harness.chatAsync("low", "low");
    awaitQueued(1);

    harness.admin("POST", "/api/admin/config", "{\"defaults\":{\"low_priority_timeout_seconds\":1}}");

    // Ten minutes before the change; a second after it.
    assertThat(low.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(429);
  }

  @Test
  void aShorterRequestTimeoutAppliesToTheNextRequest() throws Exception {
    slowSluice("timeout_seconds: 600", "", WITH_TOKEN);

    harness.admin("POST", "/api/admin/config", "{\"defaults\":{\"timeout_seconds\":1}}");
    HttpResponse<String> next = harness.chatAsync("next", "normal").get(10, TimeUnit.SECONDS);

    assertThat(next.statusCode()).isEqualTo(429);
    assertThat(json(next).at("/error/code").asText()).isEqualTo("rate_limited");
  }

  @Test
  void theLogLevelChangesTheRootLogger() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    try {
      harness.admin("POST", "/api/admin/config", "{\"log_level\":\"error\"}");
      assertThat(root.getLevel()).isEqualTo(Level.ERROR);
      assertThat(harness.adminJson("GET", "/api/admin/config", null).at("/log_level").asText()).isEqualTo("ERROR");
      assertThat(harness.events("sluice.audit")).extracting(e -> AdminHarness.value(e, "key"))
          .containsExactly("log_level");
    } finally {
      root.setLevel(before);
    }
  }

  @Test
  void retreatSettingsChangeForEveryBackend() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> response = harness.admin("POST", "/api/admin/config",
        "{\"defaults\":{\"retreat\":{\"enabled\":false,\"floor_rpm\":7}}}");

    assertThat(json(response).at("/changed")).isEqualTo(JSON.readTree("""
        [{"key":"defaults.retreat.enabled","old":true,"new":false},
         {"key":"defaults.retreat.floor_rpm","old":5,"new":7}]"""));
    assertThat(json(response).at("/config/defaults/retreat/enabled").asBoolean()).isFalse();
  }

  @Test
  void aFetchedDocumentEditedAndPostedBackWholeChangesOnlyWhatWasEdited() throws Exception {
    harness.start("", "max_attempts: 2\n    first_byte_timeout_seconds: 30",
        "concurrency: {mode: adaptive, max_concurrent: 6}, cooldown: {base_seconds: 10}", WITH_TOKEN, dir);
    ObjectNode document =
        (ObjectNode) harness.adminJson("GET", "/api/admin/config", null);
    ObjectNode pool =
        (ObjectNode) document.at("/pools/0");
    pool.put("queue_max_size", 300);

    HttpResponse<String> edited = harness.admin("POST", "/api/admin/config", document.toString());
    pool.put("max_attempts", 4);
    HttpResponse<String> readOnly = harness.admin("POST", "/api/admin/config", document.toString());

    assertThat(edited.statusCode()).isEqualTo(200);
    assertThat(json(edited).get("changed").toString())
        .isEqualTo("[{\"key\":\"pools.nvidia.queue_max_size\",\"old\":500,\"new\":300}]");
    assertThat(json(edited).at("/config/pools/0/first_byte_timeout_seconds").asInt()).isEqualTo(30);
    assertThat(json(edited).at("/config/pools/0/backends/0/concurrency/mode").asText()).isEqualTo("adaptive");
    assertThat(json(edited).at("/config/pools/0/backends/0/cooldown/base_seconds").asInt()).isEqualTo(10);
    assertThat(readOnly.statusCode()).isEqualTo(400);
    assertThat(json(readOnly).get("error")).isEqualTo(JSON.readTree("""
        {"message":"pools[0].max_attempts: is not hot-reloadable; change it in the configuration and restart Sluice",
         "type":"invalid_request_error","code":"invalid_config","param":"pools[0].max_attempts"}"""));
  }

  // ------------------------------------------------------------------------------------------------ refusing

  @Test
  void aBadValueGets400WithTheStartUpTextAndItsPath() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);
    String startUp = catchMessage(() -> new ConfigLoader(Map.of()).loadYaml("""
        pools: [{name: nvidia, queue_max_size: 0, backends: [{id: b, base_url: "http://127.0.0.1:1/v1"}]}]""", dir));

    HttpResponse<String> response = harness.admin("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"queue_max_size\":0}]}");

    assertThat(startUp).isEqualTo("pools[0].queue_max_size: 0 is outside 1..1000000");
    assertThat(response.statusCode()).isEqualTo(400);
    assertThat(json(response)).isEqualTo(JSON.readTree("""
        {"error":{"message":"%s","type":"invalid_request_error","code":"invalid_config",
                  "param":"pools[0].queue_max_size"}}""".formatted(startUp)));
  }

  @Test
  void aRateOutsideItsRangeGetsTheMessageOfTheEnvironmentVariableWithItsOwnPath() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);
    String startUp = catchMessage(() -> new ConfigLoader(Map.of("SIDECAR_RATE_RPM", "0")).load());

    JsonNode error = harness.adminJson("POST", "/api/admin/config", "{\"rate_rpm\":0}").at("/error");

    assertThat(startUp).isEqualTo("SIDECAR_RATE_RPM: 0 is outside 1..100000");
    assertThat(error.at("/message").asText()).isEqualTo("rate_rpm: 0 is outside 1..100000");
    assertThat(error.at("/param").asText()).isEqualTo("rate_rpm");
  }

  @Test
  void unknownPoolsBackendsAndKeysAre400NamingThem() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    JsonNode pool = harness.adminJson("POST", "/api/admin/config", "{\"pools\":[{\"name\":\"openai\"}]}");
    JsonNode backend = harness.adminJson("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nv-9\",\"rate_rpm\":5}]}]}");
    JsonNode key = harness.adminJson("POST", "/api/admin/config", "{\"defaults\":{\"retry\":1}}");
    JsonNode fixed = harness.adminJson("POST", "/api/admin/config",
        "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"sim-1\",\"base_url\":\"http://x/v1\"}]}]}");
    HttpResponse<String> notJson = harness.admin("POST", "/api/admin/config", "{rate_rpm: 3");

    assertThat(pool.at("/error/message").asText())
        .isEqualTo("pools[0].name: openai is not a pool of this Sluice (one of nvidia)");
    assertThat(pool.at("/error/param").asText()).isEqualTo("pools[0].name");
    assertThat(backend.at("/error/message").asText())
        .isEqualTo("pools[0].backends[0].id: nv-9 is not a backend of pool nvidia (one of sim-1)");
    assertThat(key.at("/error/message").asText()).isEqualTo("defaults.retry: unknown key");
    assertThat(fixed.at("/error/message").asText()).isEqualTo(
        "pools[0].backends[0].base_url: is not hot-reloadable; change it in the configuration and restart Sluice");
    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(json(notJson).at("/error/code").asText()).isEqualTo("invalid_json");
    assertThat(harness.events("sluice.audit")).isEmpty();
  }

  @Test
  void aBodyOverTheLimitIs413() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);

    HttpResponse<String> response = harness.admin("POST", "/api/admin/config",
        "{\"log_level\":\"" + "x".repeat(AdminHandler.MAX_BODY_BYTES) + "\"}");

    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(json(response).at("/error/code").asText()).isEqualTo("request_too_large");
  }

  @Test
  void aChunkedBodyOverTheLimitIs413Too() throws Exception {
    harness.start("", "", "", WITH_TOKEN, dir);
    byte[] body = ("{\"log_level\":\"" + "x".repeat(AdminHandler.MAX_BODY_BYTES) + "\"}")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);

    HttpResponse<String> response = harness.http.send(java.net.http.HttpRequest.newBuilder(
        harness.uri("/api/admin/config")).header("Authorization", "Bearer " + AdminHarness.TOKEN)
        .header("Content-Type", "application/json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(body)))
        .build(), HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(413);
    assertThat(json(response).at("/error/code").asText()).isEqualTo("request_too_large");
  }

  private static String catchMessage(Runnable load) {
    try {
      load.run();
    } catch (ConfigException e) {
      return e.getMessage();
    }
    throw new AssertionError("no ConfigException");
  }
}
