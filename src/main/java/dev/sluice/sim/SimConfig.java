package dev.sluice.sim;

import java.util.List;
import java.util.function.Consumer;

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
 *     0 = unlimited. A call that asks for more than the whole limit is refused at once ({@code Request too large}),
 *     since no wait would let it in. Range 0..1000000000
 * @param tokenBudget tokens (prompt + completion, counted when a request is accepted, like {@code tpm}) per sliding
 *     window of {@code budgetWindowSeconds}, as a plan's budget; a call that would take the window past it is
 *     answered with {@code quotaStatus} and OpenAI's {@code insufficient_quota} error. 0 = no budget (the default).
 *     Range 0..1000000000000
 * @param budgetWindowSeconds length of the {@code tokenBudget} window in seconds, counted in whole seconds since
 *     the server started: tokens accepted during second k are counted up to the end of second
 *     {@code k + budgetWindowSeconds - 1}. Default 18000 (five hours). Range 1..604800
 * @param quotaStatus the status of the quota error; default 429, as OpenAI. Range 400..599
 * @param quotaRetryAfter whether the quota error carries {@code Retry-After}: whole seconds until the window has
 *     room for the refused call (left out for a call larger than the whole budget); default false, as OpenAI
 * @param quotaMessage the quota error's message; default {@link #DEFAULT_QUOTA_MESSAGE}, OpenAI's. Not blank, at
 *     most 2000 characters
 * @param rateHeaders whether answers carry {@code x-ratelimit-*} headers describing {@code rpm} and {@code tpm}, as
 *     OpenAI's do; off for a provider that sends none. Default true
 * @param ttftMillis delay before the response headers and first token, in milliseconds. Range 0..3600000
 * @param ttftJitterMillis upper bound of a uniform draw, in milliseconds, that each admitted call adds to
 *     {@code ttftMillis}; drawn from the dice seeded with {@code seed}; default 0. Range 0..3600000
 * @param perTokenMillis delay between streamed chunks, in milliseconds; a non-streamed answer waits
 *     {@code completionTokens} times this after {@code ttftMillis}. Range 0..60000
 * @param completionTokens tokens (streamed chunks, words) per completion in {@link CompletionMode#FIXED} mode, and
 *     the length the other modes use when a request names no maximum; default 16. Range 0..100000
 * @param completionMode how long completions are: fixed, the request's {@code max_tokens}, or a uniform draw capped
 *     by it; default {@link CompletionMode#FIXED}
 * @param errorRate share of accepted requests answered with {@code errorStatus}. Range 0.0..1.0
 * @param errorStatus the status of the errors {@code errorRate} draws, answered with an OpenAI-shaped
 *     {@code server_error} body; default 500. Range 500..599
 * @param resetRate share of accepted requests whose connection is reset without an answer. Range 0.0..1.0
 * @param stallRate share of accepted streams that go silent half-way for {@code stallMillis}. Range 0.0..1.0
 * @param stallMillis how long a stalled response stays silent, in milliseconds; default 600000. Range
 *     0..86400000
 * @param seed seed of the fault dice; the same seed and request order give the same faults
 * @param models the ids {@code GET /v1/models} lists; at least one, none blank
 * @param rejectedKeys API keys answered 401 {@code invalid_api_key} when a call presents one as
 *     {@code Authorization: Bearer <key>}, as a provider answers a revoked key; default none. At most 1000, none
 *     blank or with whitespace. {@link #toString()} and the control endpoints show them masked
 */
public record SimConfig(
    int rpm,
    int burst,
    RateAlgorithm rateAlgorithm,
    int maxConcurrent,
    int tpm,
    long tokenBudget,
    int budgetWindowSeconds,
    int quotaStatus,
    boolean quotaRetryAfter,
    String quotaMessage,
    boolean rateHeaders,
    long ttftMillis,
    long ttftJitterMillis,
    long perTokenMillis,
    int completionTokens,
    CompletionMode completionMode,
    double errorRate,
    int errorStatus,
    double resetRate,
    double stallRate,
    long stallMillis,
    long seed,
    List<String> models,
    List<String> rejectedKeys) {

  /** Upper bound of {@code rpm} and {@code burst}. */
  public static final int MAX_RPM = 1_000_000;
  /** Upper bound of {@code maxConcurrent}. */
  public static final int MAX_CONCURRENT = 1_000_000;
  /** Upper bound of {@code tpm}. */
  public static final int MAX_TPM = 1_000_000_000;
  /** Upper bound of {@code tokenBudget}. */
  public static final long MAX_TOKEN_BUDGET = 1_000_000_000_000L;
  /** Default {@code budgetWindowSeconds}: five hours. */
  public static final int DEFAULT_BUDGET_WINDOW_SECONDS = 18_000;
  /** Lower bound of {@code budgetWindowSeconds}. */
  public static final int MIN_BUDGET_WINDOW_SECONDS = 1;
  /** Upper bound of {@code budgetWindowSeconds}: seven days. */
  public static final int MAX_BUDGET_WINDOW_SECONDS = 604_800;
  /** Default {@code quotaStatus}. */
  public static final int DEFAULT_QUOTA_STATUS = 429;
  /** Lower bound of {@code quotaStatus}. */
  public static final int MIN_QUOTA_STATUS = 400;
  /** Upper bound of {@code quotaStatus}. */
  public static final int MAX_QUOTA_STATUS = 599;
  /** Longest {@code quotaMessage}. */
  public static final int MAX_QUOTA_MESSAGE_CHARS = 2000;
  /** Default {@code quotaMessage}: OpenAI's. */
  public static final String DEFAULT_QUOTA_MESSAGE = "You exceeded your current quota, please check your plan and "
      + "billing details. For more information on this error, read the docs: "
      + "https://platform.openai.com/docs/guides/error-codes/api-errors.";
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
  /** Default {@code errorStatus}. */
  public static final int DEFAULT_ERROR_STATUS = 500;
  /** Lower bound of {@code errorStatus}. */
  public static final int MIN_ERROR_STATUS = 500;
  /** Upper bound of {@code errorStatus}. */
  public static final int MAX_ERROR_STATUS = 599;
  /** Most entries in {@code rejectedKeys}. */
  public static final int MAX_REJECTED_KEYS = 1000;
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
    check("sim.token_budget", tokenBudget, 0, MAX_TOKEN_BUDGET);
    check("sim.budget_window_seconds", budgetWindowSeconds, MIN_BUDGET_WINDOW_SECONDS, MAX_BUDGET_WINDOW_SECONDS);
    check("sim.quota_status", quotaStatus, MIN_QUOTA_STATUS, MAX_QUOTA_STATUS);
    if (quotaMessage == null || quotaMessage.isBlank()) {
      throw new IllegalArgumentException("sim.quota_message: " + (quotaMessage == null ? "null" : "\"" + quotaMessage
          + "\"") + " is not a message");
    }
    if (quotaMessage.length() > MAX_QUOTA_MESSAGE_CHARS) {
      throw new IllegalArgumentException("sim.quota_message: " + quotaMessage.length() + " characters is outside 1.."
          + MAX_QUOTA_MESSAGE_CHARS);
    }
    check("sim.ttft_millis", ttftMillis, 0, MAX_TTFT_MILLIS);
    check("sim.ttft_jitter_millis", ttftJitterMillis, 0, MAX_TTFT_JITTER_MILLIS);
    check("sim.per_token_millis", perTokenMillis, 0, MAX_PER_TOKEN_MILLIS);
    check("sim.completion_tokens", completionTokens, 0, MAX_COMPLETION_TOKENS);
    if (completionMode == null) {
      throw new IllegalArgumentException("sim.completion_mode: null is not one of fixed, max_tokens, uniform");
    }
    checkShare("sim.error_rate", errorRate);
    check("sim.error_status", errorStatus, MIN_ERROR_STATUS, MAX_ERROR_STATUS);
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
    if (rejectedKeys == null) {
      throw new IllegalArgumentException("sim.rejected_keys: must be a list (empty for none)");
    }
    if (rejectedKeys.size() > MAX_REJECTED_KEYS) {
      throw new IllegalArgumentException("sim.rejected_keys: " + rejectedKeys.size() + " keys is more than the "
          + MAX_REJECTED_KEYS + " allowed");
    }
    for (String key : rejectedKeys) {
      // The message never repeats a key: it may be a real one.
      if (key == null || key.isEmpty() || key.codePoints().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("sim.rejected_keys: " + (key == null ? "null" : "a key that is empty or "
            + "contains whitespace") + " is not an API key");
      }
    }
    rejectedKeys = List.copyOf(rejectedKeys);
  }

  /**
   * No limits and no token budget (a five-hour window, should one be set; quota errors 429 without
   * {@code Retry-After}, OpenAI's message), {@code x-ratelimit-*} headers on, no latency, no faults (errors, when
   * drawn, are 500s), 16 tokens per completion in fixed mode, seed 0, the {@link #DEFAULT_MODELS}, no rejected keys.
   */
  public static SimConfig defaults() {
    return new SimConfig(0, 0, RateAlgorithm.TOKEN_BUCKET, 0, 0, 0, DEFAULT_BUDGET_WINDOW_SECONDS,
        DEFAULT_QUOTA_STATUS, false, DEFAULT_QUOTA_MESSAGE, true, 0, 0, 0, DEFAULT_COMPLETION_TOKENS,
        CompletionMode.FIXED, 0.0, DEFAULT_ERROR_STATUS, 0.0, 0.0, DEFAULT_STALL_MILLIS, 0L, DEFAULT_MODELS, List.of());
  }

  /** The token-bucket capacity in force: {@code burst}, or {@code ceil(rpm / 6)} (at least 1) when it is 0. */
  public int effectiveBurst() {
    return burst > 0 ? burst : Math.max(1, (rpm + 5) / 6);
  }

  public SimConfig withRpm(int value) {
    return copy(c -> c.rpm = value);
  }

  public SimConfig withBurst(int value) {
    return copy(c -> c.burst = value);
  }

  public SimConfig withRateAlgorithm(RateAlgorithm value) {
    return copy(c -> c.rateAlgorithm = value);
  }

  public SimConfig withMaxConcurrent(int value) {
    return copy(c -> c.maxConcurrent = value);
  }

  public SimConfig withTpm(int value) {
    return copy(c -> c.tpm = value);
  }

  public SimConfig withTokenBudget(long value) {
    return copy(c -> c.tokenBudget = value);
  }

  public SimConfig withBudgetWindowSeconds(int value) {
    return copy(c -> c.budgetWindowSeconds = value);
  }

  public SimConfig withQuotaStatus(int value) {
    return copy(c -> c.quotaStatus = value);
  }

  public SimConfig withQuotaRetryAfter(boolean value) {
    return copy(c -> c.quotaRetryAfter = value);
  }

  public SimConfig withQuotaMessage(String value) {
    return copy(c -> c.quotaMessage = value);
  }

  public SimConfig withRateHeaders(boolean value) {
    return copy(c -> c.rateHeaders = value);
  }

  public SimConfig withTtftMillis(long value) {
    return copy(c -> c.ttftMillis = value);
  }

  public SimConfig withTtftJitterMillis(long value) {
    return copy(c -> c.ttftJitterMillis = value);
  }

  public SimConfig withPerTokenMillis(long value) {
    return copy(c -> c.perTokenMillis = value);
  }

  public SimConfig withCompletionTokens(int value) {
    return copy(c -> c.completionTokens = value);
  }

  public SimConfig withCompletionMode(CompletionMode value) {
    return copy(c -> c.completionMode = value);
  }

  public SimConfig withErrorRate(double value) {
    return copy(c -> c.errorRate = value);
  }

  public SimConfig withErrorStatus(int value) {
    return copy(c -> c.errorStatus = value);
  }

  public SimConfig withResetRate(double value) {
    return copy(c -> c.resetRate = value);
  }

  public SimConfig withStallRate(double value) {
    return copy(c -> c.stallRate = value);
  }

  public SimConfig withStallMillis(long value) {
    return copy(c -> c.stallMillis = value);
  }

  public SimConfig withSeed(long value) {
    return copy(c -> c.seed = value);
  }

  public SimConfig withModels(List<String> value) {
    return copy(c -> c.models = value);
  }

  public SimConfig withRejectedKeys(List<String> value) {
    return copy(c -> c.rejectedKeys = value);
  }

  /** The record's usual form, with each rejected key masked ({@code sk-a****wxyz}). */
  @Override
  public String toString() {
    return "SimConfig[rpm=" + rpm + ", burst=" + burst + ", rateAlgorithm=" + rateAlgorithm + ", maxConcurrent="
        + maxConcurrent + ", tpm=" + tpm + ", tokenBudget=" + tokenBudget + ", budgetWindowSeconds="
        + budgetWindowSeconds + ", quotaStatus=" + quotaStatus + ", quotaRetryAfter=" + quotaRetryAfter
        + ", quotaMessage=" + quotaMessage + ", rateHeaders=" + rateHeaders + ", ttftMillis=" + ttftMillis
        + ", ttftJitterMillis=" + ttftJitterMillis + ", perTokenMillis=" + perTokenMillis + ", completionTokens="
        + completionTokens + ", completionMode=" + completionMode + ", errorRate=" + errorRate
        + ", errorStatus=" + errorStatus + ", resetRate=" + resetRate + ", stallRate=" + stallRate + ", stallMillis="
        + stallMillis + ", seed=" + seed + ", models=" + models + ", rejectedKeys="
        + rejectedKeys.stream().map(KeyCheck::masked).toList() + "]";
  }

  /** This config with the values {@code change} sets on a mutable copy; checked by the constructor. */
  private SimConfig copy(Consumer<Copy> change) {
    Copy c = new Copy(this);
    change.accept(c);
    return c.build();
  }

  /** A mutable copy, so that each {@code withX} names only the value it changes. */
  private static final class Copy {
    int rpm;
    int burst;
    RateAlgorithm rateAlgorithm;
    int maxConcurrent;
    int tpm;
    long tokenBudget;
    int budgetWindowSeconds;
    int quotaStatus;
    boolean quotaRetryAfter;
    String quotaMessage;
    boolean rateHeaders;
    long ttftMillis;
    long ttftJitterMillis;
    long perTokenMillis;
    int completionTokens;
    CompletionMode completionMode;
    double errorRate;
    int errorStatus;
    double resetRate;
    double stallRate;
    long stallMillis;
    long seed;
    List<String> models;
    List<String> rejectedKeys;

    Copy(SimConfig c) {
      rpm = c.rpm;
      burst = c.burst;
      rateAlgorithm = c.rateAlgorithm;
      maxConcurrent = c.maxConcurrent;
      tpm = c.tpm;
      tokenBudget = c.tokenBudget;
      budgetWindowSeconds = c.budgetWindowSeconds;
      quotaStatus = c.quotaStatus;
      quotaRetryAfter = c.quotaRetryAfter;
      quotaMessage = c.quotaMessage;
      rateHeaders = c.rateHeaders;
      ttftMillis = c.ttftMillis;
      ttftJitterMillis = c.ttftJitterMillis;
      perTokenMillis = c.perTokenMillis;
      completionTokens = c.completionTokens;
      completionMode = c.completionMode;
      errorRate = c.errorRate;
      errorStatus = c.errorStatus;
      resetRate = c.resetRate;
      stallRate = c.stallRate;
      stallMillis = c.stallMillis;
      seed = c.seed;
      models = c.models;
      rejectedKeys = c.rejectedKeys;
    }

    SimConfig build() {
      return new SimConfig(rpm, burst, rateAlgorithm, maxConcurrent, tpm, tokenBudget, budgetWindowSeconds,
          quotaStatus, quotaRetryAfter, quotaMessage, rateHeaders, ttftMillis, ttftJitterMillis, perTokenMillis,
          completionTokens, completionMode, errorRate, errorStatus, resetRate, stallRate, stallMillis, seed, models,
          rejectedKeys);
    }
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
