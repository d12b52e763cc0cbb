package dev.sluice.sim;

import java.util.List;

/**
 * What the simulated provider hides from its callers: limits, latency and faults. Immutable; every value is
 * checked in the constructor and a bad one is rejected with a message naming the option (as the snake_case key
 * {@code POST /sim/config} accepts), the value and the legal range, e.g. {@code sim.rpm: -1 is outside 0..1000000}.
 * For limits and faults, 0 means unlimited or off. Each {@code withX} returns a copy with one value changed,
 * checked the same way.
 *
 * @param rpm requests per minute; 0 = unlimited. Range 0..1000000
 * @param burst token-bucket capacity in requests; 0 = the default {@code ceil(rpm / 6)}, at least 1. Ignored by
 *     the sliding window and when {@code rpm} is 0. Range 0..1000000
 * @param rateAlgorithm how {@code rpm} is enforced; default {@link RateAlgorithm#TOKEN_BUCKET}
 * @param maxConcurrent requests in flight at once; 0 = unlimited. Range 0..1000000
 * @param tpm tokens (prompt + completion, counted when a request is accepted) per sliding 60 s window;
 *     0 = unlimited. Range 0..1000000000
 * @param ttftMillis delay before the response headers and first token, in milliseconds. Range 0..3600000
 * @param ttftJitterMillis upper bound of a uniform draw, in milliseconds, that each admitted call adds to
 *     {@code ttftMillis}; drawn from the dice seeded with {@code seed}; default 0. Range 0..3600000
 * @param perTokenMillis delay between streamed chunks, in milliseconds; a non-streamed answer waits
 *     {@code completionTokens} times this after {@code ttftMillis}. Range 0..60000
 * @param completionTokens tokens (streamed chunks, words) per completion; default 16. Range 0..100000
 * @param errorRate share of accepted requests answered 500. Range 0.0..1.0
 * @param resetRate share of accepted requests whose connection is reset without an answer. Range 0.0..1.0
 * @param stallRate share of accepted streams that go silent half-way for {@code stallMillis}. Range 0.0..1.0
 * @param stallMillis how long a stalled response stays silent, in milliseconds; default 600000. Range
 *     0..86400000
 * @param seed seed of the fault dice; the same seed and request order give the same faults
 * @param models the ids {@code GET /v1/models} lists; at least one, none blank
 */
public record SimConfig(
    int rpm,
    int burst,
    RateAlgorithm rateAlgorithm,
    int maxConcurrent,
    int tpm,
    long ttftMillis,
    long ttftJitterMillis,
    long perTokenMillis,
    int completionTokens,
    double errorRate,
    double resetRate,
    double stallRate,
    long stallMillis,
    long seed,
    List<String> models) {

  /** Upper bound of {@code rpm} and {@code burst}. */
  public static final int MAX_RPM = 1_000_000;
  /** Upper bound of {@code maxConcurrent}. */
  public static final int MAX_CONCURRENT = 1_000_000;
  /** Upper bound of {@code tpm}. */
  public static final int MAX_TPM = 1_000_000_000;
  /** Upper bound of {@code ttftMillis}: one hour. */
  public static final long MAX_TTFT_MILLIS = 3_600_000L;
  /** Upper bound of {@code ttftJitterMillis}: one hour. */
  public static final long MAX_TTFT_JITTER_MILLIS = 3_600_000L;
  /** Upper bound of {@code perTokenMillis}: one minute. */
  public static final long MAX_PER_TOKEN_MILLIS = 60_000L;
  /** Upper bound of {@code completionTokens}. */
  public static final int MAX_COMPLETION_TOKENS = 100_000;
  /** Upper bound of {@code stallMillis}: one day. */
  public static final long MAX_STALL_MILLIS = 86_400_000L;
  /** Default {@code completionTokens}. */
  public static final int DEFAULT_COMPLETION_TOKENS = 16;
  /** Default {@code stallMillis}: ten minutes. */
  public static final long DEFAULT_STALL_MILLIS = 600_000L;
  /** Default {@code models}. */
  public static final List<String> DEFAULT_MODELS = List.of(
      "sim/llama-3.1-8b", "nvidia/llama-3.1-nemotron-70b-instruct", "meta/llama-3.3-70b-instruct");

  /** Checks every value; see the class javadoc for the ranges. */
  public SimConfig {
    check("sim.rpm", rpm, 0, MAX_RPM);
    check("sim.burst", burst, 0, MAX_RPM);
    if (rateAlgorithm == null) {
      throw new IllegalArgumentException("sim.rate_algorithm: null is not one of token_bucket, sliding_window");
    }
    check("sim.max_concurrent", maxConcurrent, 0, MAX_CONCURRENT);
    check("sim.tpm", tpm, 0, MAX_TPM);
    check("sim.ttft_millis", ttftMillis, 0, MAX_TTFT_MILLIS);
    check("sim.ttft_jitter_millis", ttftJitterMillis, 0, MAX_TTFT_JITTER_MILLIS);
    check("sim.per_token_millis", perTokenMillis, 0, MAX_PER_TOKEN_MILLIS);
    check("sim.completion_tokens", completionTokens, 0, MAX_COMPLETION_TOKENS);
    checkShare("sim.error_rate", errorRate);
    checkShare("sim.reset_rate", resetRate);
    checkShare("sim.stall_rate", stallRate);
    check("sim.stall_millis", stallMillis, 0, MAX_STALL_MILLIS);
    if (models == null || models.isEmpty()) {
      throw new IllegalArgumentException("sim.models: must list at least one model id");
    }
    for (String model : models) {
      if (model == null || model.isBlank()) {
        throw new IllegalArgumentException("sim.models: " + (model == null ? "null" : "\"" + model + "\"")
            + " is not a model id");
      }
    }
    models = List.copyOf(models);
  }

  /** No limits, no latency, no faults, 16 tokens per completion, seed 0, the {@link #DEFAULT_MODELS}. */
  public static SimConfig defaults() {
    return new SimConfig(0, 0, RateAlgorithm.TOKEN_BUCKET, 0, 0, 0, 0, 0, DEFAULT_COMPLETION_TOKENS, 0.0, 0.0, 0.0,
        DEFAULT_STALL_MILLIS, 0L, DEFAULT_MODELS);
  }

  /** The token-bucket capacity in force: {@code burst}, or {@code ceil(rpm / 6)} (at least 1) when it is 0. */
  public int effectiveBurst() {
    return burst > 0 ? burst : Math.max(1, (rpm + 5) / 6);
  }

  public SimConfig withRpm(int value) {
    return new SimConfig(value, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withBurst(int value) {
    return new SimConfig(rpm, value, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withRateAlgorithm(RateAlgorithm value) {
    return new SimConfig(rpm, burst, value, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withMaxConcurrent(int value) {
    return new SimConfig(rpm, burst, rateAlgorithm, value, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withTpm(int value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, value, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withTtftMillis(long value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, value, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withTtftJitterMillis(long value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, value, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withPerTokenMillis(long value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, value,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withCompletionTokens(int value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        value, errorRate, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withErrorRate(double value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, value, resetRate, stallRate, stallMillis, seed, models);
  }

  public SimConfig withResetRate(double value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, value, stallRate, stallMillis, seed, models);
  }

  public SimConfig withStallRate(double value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, value, stallMillis, seed, models);
  }

  public SimConfig withStallMillis(long value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, value, seed, models);
  }

  public SimConfig withSeed(long value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, value, models);
  }

  public SimConfig withModels(List<String> value) {
    return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, ttftMillis, ttftJitterMillis, perTokenMillis,
        completionTokens, errorRate, resetRate, stallRate, stallMillis, seed, value);
  }

  private static void check(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(key + ": " + value + " is outside " + min + ".." + max);
    }
  }

  private static void checkShare(String key, double value) {
    if (!(value >= 0.0 && value <= 1.0)) {
      throw new IllegalArgumentException(key + ": " + value + " is outside 0.0..1.0");
    }
  }
}
