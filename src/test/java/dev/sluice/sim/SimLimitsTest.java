package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SimLimitsTest {
  private final ManualClock clock = new ManualClock();
  private final ManualSleeper sleeper = new ManualSleeper(clock);
  private SimServer sim;
  private SimClient client;

  private void start(SimConfig config) {
    sim = SimServer.start(config, clock, sleeper, "127.0.0.1", 0);
    client = new SimClient(sim);
  }

  @AfterEach
  void stop() {
    client.close();
    sim.close();
  }

  private HttpResponse<String> call() {
    return client.post("/v1/chat/completions", chat("m"));
  }

  @Test
  void rpmLimitAnswers429WithRetryAfterUntilRefill() {
    start(SimConfig.defaults().withRpm(60).withBurst(2));

    HttpResponse<String> first = call();
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("x-ratelimit-limit-requests")).hasValue("60");
    assertThat(first.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("1");
    assertThat(first.headers().firstValue("x-ratelimit-reset-requests")).hasValue("1s");
    assertThat(call().statusCode()).isEqualTo(200);

    HttpResponse<String> limited = call();
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(limited.headers().firstValue("x-ratelimit-limit-requests")).hasValue("60");
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("0");
    assertThat(limited.headers().firstValue("x-ratelimit-reset-requests")).hasValue("1s");
    JsonNode error = json(limited).get("error");
    assertThat(error.get("type").asText()).isEqualTo("requests");
    assertThat(error.get("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.get("message").asText())
        .isEqualTo("Rate limit reached for m on requests per min (RPM): Limit 60, Remaining 0. Please try again in "
            + "1s.");

    clock.advance(Duration.ofMillis(500));
    HttpResponse<String> halfway = call();
    assertThat(halfway.statusCode()).isEqualTo(429);
    assertThat(halfway.headers().firstValue("x-ratelimit-reset-requests")).hasValue("500ms");
    assertThat(json(halfway).get("error").get("message").asText()).isEqualTo(
        "Rate limit reached for m on requests per min (RPM): Limit 60, Remaining 0. Please try again in 500ms.");

    clock.advance(Duration.ofMillis(500));
    assertThat(call().statusCode()).isEqualTo(200);
    assertThat(call().statusCode()).isEqualTo(429);
    assertThat(sim.stats().accepted()).isEqualTo(3);
    assertThat(sim.stats().rejectedByRate()).isEqualTo(3);
    assertThat(sim.stats().rejected429()).isEqualTo(3);
  }

  @Test
  void defaultBurstIsASixthOfRpm() {
    start(SimConfig.defaults().withRpm(30));

    for (int i = 0; i < 5; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }
    HttpResponse<String> limited = call();
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("2");
  }

  @Test
  void slidingWindowAdmitsRpmPerSixtySecondsAndRetriesWhenTheOldestExpires() {
    start(SimConfig.defaults().withRpm(3).withRateAlgorithm(RateAlgorithm.SLIDING_WINDOW));

    for (int i = 0; i < 3; i++) {
      HttpResponse<String> accepted = call();
      assertThat(accepted.statusCode()).isEqualTo(200);
      assertThat(accepted.headers().firstValue("x-ratelimit-remaining-requests")).hasValue(Integer.toString(2 - i));
      clock.advance(Duration.ofSeconds(10));
    }
    HttpResponse<String> limited = call();
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("30");
    assertThat(limited.headers().firstValue("x-ratelimit-reset-requests")).hasValue("30s");

    clock.advance(Duration.ofSeconds(30));
    assertThat(call().statusCode()).isEqualTo(200);
    HttpResponse<String> again = call();
    assertThat(again.statusCode()).isEqualTo(429);
    assertThat(again.headers().firstValue("Retry-After")).hasValue("10");
  }

  @Test
  void concurrencyLimitAnswers429ThatReadsAsConcurrency() throws Exception {
    start(SimConfig.defaults().withMaxConcurrent(2).withRpm(600).withBurst(50));
    CompletableFuture<HttpResponse<String>> held1 =
        client.postAsync("/v1/chat/completions", chat("m"), "X-Sim-Ttft-Ms", "600");
    CompletableFuture<HttpResponse<String>> held2 =
        client.postAsync("/v1/chat/completions", chat("m"), "X-Sim-Ttft-Ms", "600");
    assertThat(sleeper.awaitSleeping(2)).containsExactly(Duration.ofMillis(600), Duration.ofMillis(600));

    HttpResponse<String> limited = call();

    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("1");
    // What the minute still allows, as a provider says it: a refusal that is not about the rate.
    assertThat(limited.headers().firstValue("x-ratelimit-limit-requests")).hasValue("600");
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("48");
    assertThat(limited.headers().firstValue("x-ratelimit-reset-requests")).hasValue("200ms");
    assertThat(json(limited).get("error").get("message").asText()).isEqualTo("Too many concurrent requests");
    assertThat(json(limited).get("error").get("code").asText()).isEqualTo("rate_limit_exceeded");
    sleeper.advance(Duration.ofMillis(600));
    assertThat(held1.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(held2.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(sim.stats().inFlight()).isZero();
    assertThat(call().statusCode()).isEqualTo(200);
    assertThat(sim.stats().rejectedByConcurrency()).isEqualTo(1);
  }

  @Test
  void concurrency429WithoutRpmStillShowsRemainingRequests() throws Exception {
    start(SimConfig.defaults().withMaxConcurrent(1));
    CompletableFuture<HttpResponse<String>> held =
        client.postAsync("/v1/chat/completions", chat("m"), "X-Sim-Ttft-Ms", "400");
    assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofMillis(400));

    HttpResponse<String> limited = call();

    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-requests")).hasValue("1000000");
    sleeper.advance(Duration.ofMillis(400));
    assertThat(held.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
  }

  @Test
  void tpmLimitCountsPromptAndCompletionTokens() {
    start(SimConfig.defaults().withTpm(100).withCompletionTokens(16));
    String body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "x".repeat(136) + "\"}]}";

    HttpResponse<String> first = client.post("/v1/chat/completions", body);
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(json(first).get("usage").get("total_tokens").asInt()).isEqualTo(50);
    assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).hasValue("100");
    assertThat(first.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("50");
    assertThat(first.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("1m0s");
    clock.advance(Duration.ofSeconds(15));
    assertThat(client.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);

    HttpResponse<String> limited = client.post("/v1/chat/completions", body);
    assertThat(limited.statusCode()).isEqualTo(429);
    assertThat(limited.headers().firstValue("Retry-After")).hasValue("45");
    assertThat(limited.headers().firstValue("x-ratelimit-remaining-tokens")).hasValue("0");
    assertThat(limited.headers().firstValue("x-ratelimit-reset-tokens")).hasValue("45s");
    JsonNode error = json(limited).get("error");
    assertThat(error.get("type").asText()).isEqualTo("tokens");
    assertThat(error.get("message").asText()).isEqualTo(
        "Rate limit reached for m on tokens per min (TPM): Limit 100, Used 100, Requested 50. Please try again in "
            + "45s.");

    clock.advance(Duration.ofSeconds(45));
    assertThat(client.post("/v1/chat/completions", body).statusCode()).isEqualTo(200);
    assertThat(sim.stats().rejectedByTokens()).isEqualTo(1);
    assertThat(sim.stats().acceptedTokens()).isEqualTo(150);
  }

  @Test
  void updateConfigLoweringTheBurstAppliesImmediately() {
    start(SimConfig.defaults().withRpm(600).withBurst(100));
    for (int i = 0; i < 5; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }

    sim.updateConfig(sim.config().withBurst(3));

    for (int i = 0; i < 3; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }
    assertThat(call().statusCode()).isEqualTo(429);
  }

  @Test
  void updateConfigLoweringASlidingWindowCountsWhatWasAccepted() {
    start(SimConfig.defaults().withRpm(100).withRateAlgorithm(RateAlgorithm.SLIDING_WINDOW));
    for (int i = 0; i < 5; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }

    sim.updateConfig(sim.config().withRpm(5));

    assertThat(call().statusCode()).isEqualTo(429);
    assertThat(sim.config().rpm()).isEqualTo(5);
  }

  @Test
  void limitingAnUnlimitedSimCountsRecentHistory() {
    start(SimConfig.defaults());
    for (int i = 0; i < 5; i++) {
      assertThat(call().statusCode()).isEqualTo(200);
    }

    sim.updateConfig(SimConfig.defaults().withRpm(60).withBurst(5));

    assertThat(call().statusCode()).isEqualTo(429);
    clock.advance(Duration.ofSeconds(1));
    assertThat(call().statusCode()).isEqualTo(200);
  }

  @Test
  void limitsDoNotApplyToEchoOrModels() {
    start(SimConfig.defaults().withRpm(1).withBurst(1));
    assertThat(call().statusCode()).isEqualTo(200);

    assertThat(client.get("/v1/models").statusCode()).isEqualTo(200);
    assertThat(client.post("/v1/echo", "{}").statusCode()).isEqualTo(200);
    assertThat(call().statusCode()).isEqualTo(429);
  }
}
