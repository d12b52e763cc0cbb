package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static dev.sluice.sim.SimClient.errorBody;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SimControlTest {
  private SimServer sim;
  private SimClient client;

  @BeforeEach
  void start() {
    sim = SimServer.start(SimConfig.defaults(), new ManualClock(), "127.0.0.1", 0);
    client = new SimClient(sim);
  }

  @AfterEach
  void stop() {
    client.close();
    sim.close();
  }

  @Test
  void postConfigChangesTheLimitsWhileRunning() {
    HttpResponse<String> response = client.post("/sim/config",
        "{\"rpm\":300,\"burst\":1,\"rate_algorithm\":\"sliding_window\",\"error_rate\":0.25,\"models\":[\"a/b\"],"
            + "\"ttft_jitter_millis\":1000}");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = json(response);
    assertThat(body.get("rpm").asInt()).isEqualTo(300);
    assertThat(body.get("rate_algorithm").asText()).isEqualTo("sliding_window");
    assertThat(body.get("completion_tokens").asInt()).isEqualTo(16);
    assertThat(body.get("ttft_jitter_millis").asLong()).isEqualTo(1000);
    assertThat(sim.config()).isEqualTo(SimConfig.defaults().withRpm(300).withBurst(1)
        .withRateAlgorithm(RateAlgorithm.SLIDING_WINDOW).withErrorRate(0.25).withModels(java.util.List.of("a/b"))
        .withTtftJitterMillis(1000));
    assertThat(json(client.get("/sim/config"))).isEqualTo(body);
  }

  @Test
  void postConfigSetsErrorStatusAndRejectedKeysAndShowsTheKeysMasked() {
    HttpResponse<String> response =
        client.post("/sim/config", "{\"error_status\":503,\"rejected_keys\":[\"sk-abcdefghwxyz\",\"short\"]}");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonNode body = json(response);
    assertThat(body.get("error_status").asInt()).isEqualTo(503);
    assertThat(body.get("rejected_keys").toString()).isEqualTo("[\"sk-a****wxyz\",\"****\"]");
    assertThat(response.body()).doesNotContain("abcdefgh", "short");
    assertThat(sim.config().rejectedKeys()).containsExactly("sk-abcdefghwxyz", "short");
    assertThat(sim.config().toString()).contains("rejectedKeys=[sk-a****wxyz, ****]").doesNotContain("abcdefgh");
    assertThat(json(client.get("/sim/config"))).isEqualTo(body);

    assertThat(json(client.post("/sim/config", "{\"rejected_keys\":[]}")).get("rejected_keys")).isEmpty();
    assertThat(sim.config().rejectedKeys()).isEmpty();
  }

  @Test
  void postConfigRejectsABadErrorStatusOrKeyListWithoutRepeatingTheKeys() {
    HttpResponse<String> low = client.post("/sim/config", "{\"error_status\":499}");
    HttpResponse<String> high = client.post("/sim/config", "{\"error_status\":600}");
    HttpResponse<String> notAList = client.post("/sim/config", "{\"rejected_keys\":\"sk-secret-key-1\"}");
    HttpResponse<String> notStrings = client.post("/sim/config", "{\"rejected_keys\":[\"sk-secret-key-1\",7]}");
    HttpResponse<String> blank = client.post("/sim/config", "{\"rejected_keys\":[\"sk secret\"]}");

    assertThat(json(low).get("error").get("message").asText()).isEqualTo("sim.error_status: 499 is outside 500..599");
    assertThat(json(high).get("error").get("message").asText()).isEqualTo("sim.error_status: 600 is outside 500..599");
    assertThat(json(notAList).get("error").get("message").asText())
        .isEqualTo("sim.rejected_keys: expected an array of API keys");
    assertThat(json(notStrings).get("error").get("message").asText())
        .isEqualTo("sim.rejected_keys: expected an array of API keys, each a string");
    assertThat(json(blank).get("error").get("message").asText())
        .isEqualTo("sim.rejected_keys: a key that is empty or contains whitespace is not an API key");
    assertThat(List.of(notAList, notStrings, blank)).allSatisfy(r -> assertThat(r.body()).doesNotContain("secret"));
    assertThat(sim.config()).isEqualTo(SimConfig.defaults());
  }

  @Test
  void postConfigRejectsInvalidValuesWithTheValidationMessage() {
    HttpResponse<String> negative = client.post("/sim/config", "{\"rpm\":-1}");
    HttpResponse<String> unknown = client.post("/sim/config", "{\"rpn\":5}");
    HttpResponse<String> wrongType = client.post("/sim/config", "{\"tpm\":\"many\"}");

    assertThat(negative.statusCode()).isEqualTo(400);
    assertThat(json(negative).get("error").get("message").asText()).isEqualTo("sim.rpm: -1 is outside 0..1000000");
    assertThat(json(unknown).get("error").get("message").asText()).isEqualTo("sim.rpn: unknown option; known: rpm, "
        + "burst, rate_algorithm, max_concurrent, tpm, token_budget, budget_window_seconds, quota_status, "
        + "quota_retry_after, quota_message, rate_headers, ttft_millis, ttft_jitter_millis, per_token_millis, "
        + "completion_tokens, completion_mode, error_rate, error_status, reset_rate, stall_rate, stall_millis, seed, "
        + "models, rejected_keys, refuse_connections_seconds");
    assertThat(json(wrongType).get("error").get("message").asText()).isEqualTo("sim.tpm: \"many\" is not a whole number");
    assertThat(sim.config()).isEqualTo(SimConfig.defaults());
  }

  @Test
  void postConfigRejectsABodyThatIsNotAJsonObject() {
    HttpResponse<String> notJson = client.post("/sim/config", "{\"rpm\":");
    HttpResponse<String> notAnObject = client.post("/sim/config", "[1]");

    assertThat(notJson.statusCode()).isEqualTo(400);
    assertThat(notJson.body()).isEqualTo(errorBody("sim config: the body is not JSON: Unexpected end-of-input "
        + "within/between Object entries", "invalid_request_error", "invalid_config"));
    assertThat(notAnObject.statusCode()).isEqualTo(400);
    assertThat(notAnObject.body()).isEqualTo(errorBody("sim config: expected a JSON object with any of [rpm, burst, "
        + "rate_algorithm, max_concurrent, tpm, token_budget, budget_window_seconds, quota_status, quota_retry_after, "
        + "quota_message, rate_headers, ttft_millis, ttft_jitter_millis, per_token_millis, completion_tokens, "
        + "completion_mode, error_rate, error_status, reset_rate, stall_rate, stall_millis, seed, models, "
        + "rejected_keys, refuse_connections_seconds]",
        "invalid_request_error", "invalid_config"));
    assertThat(sim.config()).isEqualTo(SimConfig.defaults());
  }

  @Test
  void unknownControlPathAnswers404ListingTheEndpoints() {
    HttpResponse<String> response = client.get("/sim/nothing");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).isEqualTo(errorBody("Unknown path /sim/nothing for GET; control endpoints: "
        + "GET /sim/stats, GET|POST /sim/config, POST /sim/reset-stats", "invalid_request_error", "not_found"));
  }

  @Test
  void simsInOneProcessShareNothing() {
    ManualClock clock = new ManualClock();
    try (SimServer a = SimServer.start(SimConfig.defaults().withRpm(60).withBurst(1), clock, "127.0.0.1", 0);
        SimServer b = SimServer.start(SimConfig.defaults().withRpm(60).withBurst(1), clock, "127.0.0.1", 0);
        SimClient toA = new SimClient(a);
        SimClient toB = new SimClient(b)) {
      assertThat(toA.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
      assertThat(toA.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(429);
      assertThat(toB.post("/sim/config", "{\"rejected_keys\":[\"sk-only-b-key-1\"],\"error_rate\":1.0}").statusCode())
          .isEqualTo(200);

      assertThat(toA.post("/v1/chat/completions", chat("m"), "Authorization", "Bearer sk-only-b-key-1").statusCode())
          .isEqualTo(429);
      assertThat(toB.post("/v1/chat/completions", chat("m"), "Authorization", "Bearer sk-only-b-key-1").statusCode())
          .isEqualTo(401);
      assertThat(toB.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(500);
      assertThat(a.config().rejectedKeys()).isEmpty();
      assertThat(a.stats().accepted()).isEqualTo(1);
      assertThat(a.stats().rejectedByRate()).isEqualTo(2);
      assertThat(b.stats().accepted()).isEqualTo(1);
      assertThat(b.stats().unauthorized()).isEqualTo(1);
      assertThat(a.recentRequests()).hasSize(3);
      assertThat(b.recentRequests()).hasSize(3);
    }
  }

  @Test
  void statsEndpointReportsCountersInSnakeCaseAndResets() {
    assertThat(client.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
    assertThat(client.post("/v1/chat/completions", chat("m"), "X-Sim-Fault", "500").statusCode()).isEqualTo(500);

    JsonNode stats = json(client.get("/sim/stats"));

    assertThat(stats.get("accepted").asLong()).isEqualTo(1);
    assertThat(stats.get("server_errors").asLong()).isEqualTo(1);
    assertThat(stats.get("accepted_tokens").asLong()).isEqualTo(sim.stats().acceptedTokens()).isPositive();
    assertThat(stats.fieldNames()).toIterable().containsExactly("accepted", "rejected_429", "rejected_by_rate",
        "rejected_by_concurrency", "rejected_by_tokens", "rejected_too_large", "rejected_by_quota", "unauthorized",
        "server_errors", "resets", "stalls", "client_disconnects", "in_flight", "accepted_tokens", "tokens_last_minute",
        "budget_window_tokens");
    long tokens = stats.get("accepted_tokens").asLong();
    assertThat(stats.get("tokens_last_minute").asLong()).isEqualTo(tokens);
    assertThat(stats.get("budget_window_tokens").asLong()).isEqualTo(tokens);

    HttpResponse<String> reset = client.post("/sim/reset-stats", "");

    assertThat(reset.statusCode()).isEqualTo(200);
    // The windows are the limits' state, not counters: they keep what they hold.
    assertThat(sim.stats()).isEqualTo(new SimStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, tokens, tokens));
  }
}
