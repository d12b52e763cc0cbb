package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Locale;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The token budget, tokens per minute and the rate headers over HTTP; one chat call is 4 + 16 = 20 tokens. */
class SimTokenBudgetTest {
  private static final String QUOTA_BODY = "{\"error\":{\"message\":\"You exceeded your current quota, please check "
      + "your plan and billing details. For more information on this error, read the docs: "
      + "https://platform.openai.com/docs/guides/error-codes/api-errors.\",\"type\":\"insufficient_quota\","
      + "\"param\":null,\"code\":\"insufficient_quota\"}}";
  private final ManualClock clock = new ManualClock();
  private SimServer sim;
  private SimClient client;

  private void start(SimConfig config) {
    sim = SimServer.start(config, clock, new ManualSleeper(clock), "127.0.0.1", 0);
    client = new SimClient(sim);
  }

  @AfterEach
  void stop() {
    client.close();
    sim.close();
  }

  private HttpResponse<String> call(String... headers) {
    return client.post("/v1/chat/completions", chat("m"), headers);
  }

  private static boolean hasRateHeaders(HttpResponse<?> response) {
    return response.headers().map().keySet().stream()
        .anyMatch(name -> name.toLowerCase(Locale.ROOT).startsWith("x-ratelimit"));
  }

  @Test
  void overTheBudgetAnswersOpenAisQuotaErrorWithoutRetryAfterByDefault() {
    start(SimConfig.defaults().withTokenBudget(40).withBudgetWindowSeconds(600).withRpm(600).withTpm(10_000));
    assertThat(call().statusCode()).isEqualTo(200);
    assertThat(call().statusCode()).isEqualTo(200);

    HttpResponse<String> refused = call();

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.body()).isEqualTo(QUOTA_BODY);
    assertThat(refused.headers().firstValue("Retry-After")).isEmpty();
    assertThat(hasRateHeaders(refused)).isFalse();
    SimStats stats = sim.stats();
    assertThat(stats.rejectedByQuota()).isEqualTo(1);
    assertThat(stats.rejected429()).isEqualTo(1);
    assertThat(stats.accepted()).isEqualTo(2);
    assertThat(stats.budgetWindowTokens()).isEqualTo(40);
    assertThat(json(client.get("/sim/stats")).get("rejected_by_quota").asLong()).isEqualTo(1);
  }

  @Test
  void quotaErrorTakesTheConfiguredStatusMessageAndRetryAfterUntilTheWindowHasRoom() {
    start(SimConfig.defaults().withTokenBudget(40).withBudgetWindowSeconds(600).withQuotaStatus(402)
        .withQuotaRetryAfter(true).withQuotaMessage("Your credits are used up."));
    assertThat(call().statusCode()).isEqualTo(200); // second 0
    clock.advance(Duration.ofMillis(100_500));
    assertThat(call().statusCode()).isEqualTo(200); // second 100

    HttpResponse<String> refused = call();

    assertThat(refused.statusCode()).isEqualTo(402);
    assertThat(refused.body()).isEqualTo("{\"error\":{\"message\":\"Your credits are used up.\","
        + "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}");
    // Second 0 leaves the window at 600 s; 499.5 s from now, rounded up.
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("500");
    clock.advance(Duration.ofMillis(499_499));
    assertThat(call().headers().firstValue("Retry-After")).hasValue("1");
    clock.advance(Duration.ofMillis(1));
    assertThat(call().statusCode()).isEqualTo(200);
    assertThat(sim.stats().rejectedByQuota()).isEqualTo(2);
    assertThat(sim.stats().rejected429()).isZero();
    assertThat(sim.stats().budgetWindowTokens()).isEqualTo(40);
  }

  @Test
  void callLargerThanTheWholeBudgetGetsTheQuotaErrorWithoutRetryAfter() {
    start(SimConfig.defaults().withTokenBudget(19).withQuotaRetryAfter(true));

    HttpResponse<String> refused = call();

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.body()).isEqualTo(QUOTA_BODY);
    assertThat(refused.headers().firstValue("Retry-After")).isEmpty();
    assertThat(call("X-Sim-Chunks", "15").statusCode()).isEqualTo(200);
  }

  @Test
  void settingABudgetCountsWhatTheWindowAlreadyHolds() {
    start(SimConfig.defaults());
    for (int i = 0; i < 3; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }

    sim.updateConfig(sim.config().withTokenBudget(70));

    assertThat(call().statusCode()).isEqualTo(429);
    assertThat(call("X-Sim-Chunks", "6").statusCode()).isEqualTo(200);
    assertThat(sim.stats().budgetWindowTokens()).isEqualTo(70);
  }

  @Test
  void callLargerThanTheWholeTpmIsRefusedAtOnceAndCountsNothing() {
    start(SimConfig.defaults().withTpm(19));

    HttpResponse<String> refused = call();

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.body()).isEqualTo(SimClient.errorBody("Request too large for m on tokens per min (TPM): "
        + "Limit 19, Requested 20. The input or output tokens must be reduced in order to run successfully.",
        "tokens", "rate_limit_exceeded"));
    assertThat(refused.headers().firstValue("Retry-After")).isEmpty();
    assertThat(refused.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("19");
    assertThat(sim.stats().rejectedTooLarge()).isEqualTo(1);
    assertThat(sim.stats().rejectedByTokens()).isZero();
    assertThat(sim.stats().rejected429()).isEqualTo(1);
    assertThat(sim.stats().tokensLastMinute()).isZero();
    assertThat(call("X-Sim-Chunks", "15").statusCode()).isEqualTo(200);
  }

  @Test
  void tpmRefusalSaysWhenTheMinuteHasRoomToTheMillisecond() {
    start(SimConfig.defaults().withTpm(40));
    assertThat(call().statusCode()).isEqualTo(200);
    assertThat(call().statusCode()).isEqualTo(200);
    clock.advance(Duration.ofMillis(59_999));

    HttpResponse<String> refused = call();

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(refused.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("0");
    assertThat(refused.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("1ms");
    assertThat(json(refused).get("error").get("message").asText()).isEqualTo("Rate limit reached for m on tokens "
        + "per min (TPM): Limit 40, Used 40, Requested 20. Please try again in 1ms.");
    clock.advance(Duration.ofMillis(1));
    HttpResponse<String> accepted = call();
    assertThat(accepted.statusCode()).isEqualTo(200);
    assertThat(accepted.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("20");
    assertThat(accepted.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("1m0s");
  }

  @Test
  void answersCarryAllSixRateHeadersWhenRpmAndTpmAreSet() {
    start(SimConfig.defaults().withRpm(60).withBurst(10).withTpm(1000));

    HttpResponse<String> accepted = call();

    assertThat(accepted.headers().firstValue("x-ratelimit-limit-requests")).hasValue("60");
    assertThat(accepted.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("9");
    assertThat(accepted.headers().firstValue("x-ratelimit-reset-requests")).hasValue("1s");
    assertThat(accepted.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("1000");
    assertThat(accepted.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("980");
    assertThat(accepted.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("1m0s");
  }

  @Test
  void rateHeadersCanBeTurnedOffForAProviderThatSendsNone() {
    start(SimConfig.defaults().withRpm(60).withBurst(1).withTpm(1000));
    assertThat(client.post("/sim/config", "{\"rate_headers\":false}").statusCode()).isEqualTo(200);

    HttpResponse<String> accepted = call();
    HttpResponse<String> limited = call();
    HttpResponse<String> forced = call("X-Sim-Fault", "429");

    assertThat(accepted.statusCode()).isEqualTo(200);
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(forced.statusCode()).isEqualTo(429);
    assertThat(forced.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(hasRateHeaders(accepted)).isFalse();
    assertThat(hasRateHeaders(limited)).isFalse();
    assertThat(hasRateHeaders(forced)).isFalse();
  }

  @Test
  void controlEndpointsSetAndShowTheBudgetKeys() {
    start(SimConfig.defaults());

    HttpResponse<String> set = client.post("/sim/config", "{\"token_budget\":5000,\"budget_window_seconds\":600,"
        + "\"quota_status\":403,\"quota_retry_after\":true,\"quota_message\":\"Out of credits.\","
        + "\"rate_headers\":false,\"completion_mode\":\"max_tokens\"}");

    assertThat(set.statusCode()).isEqualTo(200);
    SimConfig expected = SimConfig.defaults().withTokenBudget(5000).withBudgetWindowSeconds(600).withQuotaStatus(403)
        .withQuotaRetryAfter(true).withQuotaMessage("Out of credits.").withRateHeaders(false)
        .withCompletionMode(CompletionMode.MAX_TOKENS);
    assertThat(sim.config()).isEqualTo(expected);
    JsonNode shown = json(client.get("/sim/config"));
    assertThat(shown.get("token_budget").asLong()).isEqualTo(5000);
    assertThat(shown.get("budget_window_seconds").asInt()).isEqualTo(600);
    assertThat(shown.get("quota_status").asInt()).isEqualTo(403);
    assertThat(shown.get("quota_retry_after").asBoolean()).isTrue();
    assertThat(shown.get("quota_message").asText()).isEqualTo("Out of credits.");
    assertThat(shown.get("rate_headers").asBoolean()).isFalse();
    assertThat(shown.get("completion_mode").asText()).isEqualTo("max_tokens");
  }

  @Test
  void controlEndpointsRefuseBadBudgetValuesNamingKeyValueAndRange() {
    start(SimConfig.defaults());

    assertThat(configError("{\"token_budget\":-1}")).isEqualTo("sim.token_budget: -1 is outside 0..1000000000000");
    assertThat(configError("{\"budget_window_seconds\":0}"))
        .isEqualTo("sim.budget_window_seconds: 0 is outside 1..604800");
    assertThat(configError("{\"quota_status\":302}")).isEqualTo("sim.quota_status: 302 is outside 400..599");
    assertThat(configError("{\"quota_retry_after\":\"yes\"}"))
        .isEqualTo("sim.quota_retry_after: \"yes\" is not true or false");
    assertThat(configError("{\"quota_message\":\" \"}")).isEqualTo("sim.quota_message: \" \" is not a message");
    assertThat(configError("{\"rate_headers\":1}")).isEqualTo("sim.rate_headers: 1 is not true or false");
    assertThat(configError("{\"completion_mode\":\"longest\"}"))
        .isEqualTo("sim.completion_mode: longest is not one of fixed, max_tokens, uniform");
    assertThat(sim.config()).isEqualTo(SimConfig.defaults());
  }

  private String configError(String patch) {
    HttpResponse<String> response = client.post("/sim/config", patch);
    assertThat(response.statusCode()).isEqualTo(400);
    return json(response).get("error").get("message").asText();
  }
}
