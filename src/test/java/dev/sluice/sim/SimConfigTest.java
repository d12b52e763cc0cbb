package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class SimConfigTest {

  @Test
  void defaultsHaveNoLimitsNoLatencyNoFaults() {
    SimConfig c = SimConfig.defaults();

    assertThat(c.rpm()).isZero();
    assertThat(c.maxConcurrent()).isZero();
    assertThat(c.tpm()).isZero();
    assertThat(c.ttftMillis()).isZero();
    assertThat(c.ttftJitterMillis()).isZero();
    assertThat(c.perTokenMillis()).isZero();
    assertThat(c.errorRate()).isZero();
    assertThat(c.errorStatus()).isEqualTo(500);
    assertThat(c.rejectedKeys()).isEmpty();
    assertThat(c.completionTokens()).isEqualTo(16);
    assertThat(c.stallMillis()).isEqualTo(600_000);
    assertThat(c.rateAlgorithm()).isEqualTo(RateAlgorithm.TOKEN_BUCKET);
    assertThat(c.tokenBudget()).isZero();
    assertThat(c.budgetWindowSeconds()).isEqualTo(18_000);
    assertThat(c.quotaStatus()).isEqualTo(429);
    assertThat(c.quotaRetryAfter()).isFalse();
    assertThat(c.quotaMessage()).startsWith("You exceeded your current quota, please check your plan and billing");
    assertThat(c.rateHeaders()).isTrue();
    assertThat(c.completionMode()).isEqualTo(CompletionMode.FIXED);
    assertThat(c.models()).containsExactly(
        "sim/llama-3.1-8b", "nvidia/llama-3.1-nemotron-70b-instruct", "meta/llama-3.3-70b-instruct");
  }

  @Test
  void withersChangeOneValue() {
    SimConfig c = SimConfig.defaults().withRpm(60).withBurst(1).withTpm(5000).withSeed(9);

    assertThat(c.rpm()).isEqualTo(60);
    assertThat(c.burst()).isEqualTo(1);
    assertThat(c.tpm()).isEqualTo(5000);
    assertThat(c.seed()).isEqualTo(9);
    assertThat(c.withRpm(0)).isEqualTo(SimConfig.defaults().withBurst(1).withTpm(5000).withSeed(9));
  }

  @Test
  void effectiveBurstDefaultsToASixthOfRpmRoundedUpAtLeastOne() {
    assertThat(SimConfig.defaults().withRpm(60).effectiveBurst()).isEqualTo(10);
    assertThat(SimConfig.defaults().withRpm(7).effectiveBurst()).isEqualTo(2);
    assertThat(SimConfig.defaults().withRpm(1).effectiveBurst()).isEqualTo(1);
    assertThat(SimConfig.defaults().effectiveBurst()).isEqualTo(1);
    assertThat(SimConfig.defaults().withRpm(60).withBurst(3).effectiveBurst()).isEqualTo(3);
  }

  @Test
  void outOfRangeValuesAreRejectedNamingOptionValueAndRange() {
    SimConfig d = SimConfig.defaults();
    assertThatThrownBy(() -> d.withRpm(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("sim.rpm: -1 is outside 0..1000000");
    assertThatThrownBy(() -> d.withBurst(1_000_001)).hasMessage("sim.burst: 1000001 is outside 0..1000000");
    assertThatThrownBy(() -> d.withMaxConcurrent(-5)).hasMessage("sim.max_concurrent: -5 is outside 0..1000000");
    assertThatThrownBy(() -> d.withTpm(-1)).hasMessage("sim.tpm: -1 is outside 0..1000000000");
    assertThatThrownBy(() -> d.withTtftMillis(3_600_001)).hasMessage("sim.ttft_millis: 3600001 is outside 0..3600000");
    assertThatThrownBy(() -> d.withTtftJitterMillis(-1)).hasMessage("sim.ttft_jitter_millis: -1 is outside 0..3600000");
    assertThatThrownBy(() -> d.withTtftJitterMillis(3_600_001))
        .hasMessage("sim.ttft_jitter_millis: 3600001 is outside 0..3600000");
    assertThatThrownBy(() -> d.withPerTokenMillis(-1)).hasMessage("sim.per_token_millis: -1 is outside 0..60000");
    assertThatThrownBy(() -> d.withCompletionTokens(100_001))
        .hasMessage("sim.completion_tokens: 100001 is outside 0..100000");
    assertThatThrownBy(() -> d.withErrorRate(1.5)).hasMessage("sim.error_rate: 1.5 is outside 0.0..1.0");
    assertThatThrownBy(() -> d.withErrorStatus(499)).hasMessage("sim.error_status: 499 is outside 500..599");
    assertThatThrownBy(() -> d.withErrorStatus(600)).hasMessage("sim.error_status: 600 is outside 500..599");
    assertThatThrownBy(() -> d.withRejectedKeys(null)).hasMessage("sim.rejected_keys: must be a list (empty for none)");
    assertThatThrownBy(() -> d.withRejectedKeys(java.util.Arrays.asList("sk-ok-key", null)))
        .hasMessage("sim.rejected_keys: null is not an API key");
    assertThatThrownBy(() -> d.withRejectedKeys(List.of("")))
        .hasMessage("sim.rejected_keys: a key that is empty or contains whitespace is not an API key");
    assertThatThrownBy(() -> d.withRejectedKeys(java.util.Collections.nCopies(1001, "sk-key")))
        .hasMessage("sim.rejected_keys: 1001 keys is more than the 1000 allowed");
    assertThatThrownBy(() -> d.withResetRate(-0.1)).hasMessage("sim.reset_rate: -0.1 is outside 0.0..1.0");
    assertThatThrownBy(() -> d.withStallRate(Double.NaN)).hasMessage("sim.stall_rate: NaN is outside 0.0..1.0");
    assertThatThrownBy(() -> d.withStallMillis(-1)).hasMessage("sim.stall_millis: -1 is outside 0..86400000");
    assertThatThrownBy(() -> d.withModels(List.of())).hasMessage("sim.models: must list at least one model id");
    assertThatThrownBy(() -> d.withModels(List.of(" "))).hasMessage("sim.models: \" \" is not a model id");
    assertThatThrownBy(() -> d.withRateAlgorithm(null))
        .hasMessage("sim.rate_algorithm: null is not one of token_bucket, sliding_window");
    assertThatThrownBy(() -> d.withTokenBudget(-1)).hasMessage("sim.token_budget: -1 is outside 0..1000000000000");
    assertThatThrownBy(() -> d.withTokenBudget(1_000_000_000_001L))
        .hasMessage("sim.token_budget: 1000000000001 is outside 0..1000000000000");
    assertThatThrownBy(() -> d.withBudgetWindowSeconds(0))
        .hasMessage("sim.budget_window_seconds: 0 is outside 1..604800");
    assertThatThrownBy(() -> d.withBudgetWindowSeconds(604_801))
        .hasMessage("sim.budget_window_seconds: 604801 is outside 1..604800");
    assertThatThrownBy(() -> d.withQuotaStatus(399)).hasMessage("sim.quota_status: 399 is outside 400..599");
    assertThatThrownBy(() -> d.withQuotaStatus(600)).hasMessage("sim.quota_status: 600 is outside 400..599");
    assertThatThrownBy(() -> d.withQuotaMessage(null)).hasMessage("sim.quota_message: null is not a message");
    assertThatThrownBy(() -> d.withQuotaMessage("")).hasMessage("sim.quota_message: \"\" is not a message");
    assertThatThrownBy(() -> d.withQuotaMessage("x".repeat(2001)))
        .hasMessage("sim.quota_message: 2001 characters is outside 1..2000");
    assertThatThrownBy(() -> d.withCompletionMode(null))
        .hasMessage("sim.completion_mode: null is not one of fixed, max_tokens, uniform");
  }

  @Test
  void rateAlgorithmParsesLenientlyAndRejectsUnknownNames() {
    assertThat(RateAlgorithm.fromName("sliding-window")).isEqualTo(RateAlgorithm.SLIDING_WINDOW);
    assertThat(RateAlgorithm.fromName("TOKEN_BUCKET")).isEqualTo(RateAlgorithm.TOKEN_BUCKET);
    assertThatThrownBy(() -> RateAlgorithm.fromName("leaky"))
        .hasMessage("sim.rate_algorithm: leaky is not one of token_bucket, sliding_window");
  }

  @Test
  void completionModeParsesLenientlyAndRejectsUnknownNames() {
    assertThat(CompletionMode.fromName("max-tokens")).isEqualTo(CompletionMode.MAX_TOKENS);
    assertThat(CompletionMode.fromName(" Uniform ")).isEqualTo(CompletionMode.UNIFORM);
    assertThat(CompletionMode.MAX_TOKENS.jsonName()).isEqualTo("max_tokens");
    assertThatThrownBy(() -> CompletionMode.fromName("longest"))
        .hasMessage("sim.completion_mode: longest is not one of fixed, max_tokens, uniform");
  }

  @Test
  void toStringMasksRejectedKeysButShowsTheBudget() {
    String shown = SimConfig.defaults().withTokenBudget(5000).withRejectedKeys(List.of("sk-abcdefghijklmnop"))
        .toString();

    assertThat(shown).contains("tokenBudget=5000", "budgetWindowSeconds=18000", "rateHeaders=true",
        "completionMode=FIXED").doesNotContain("sk-abcdefghijklmnop");
  }

  @Test
  void modelsAreCopied() {
    List<String> models = new java.util.ArrayList<>(List.of("a"));
    SimConfig c = SimConfig.defaults().withModels(models);
    models.add("b");

    assertThat(c.models()).containsExactly("a");
  }
}
