package dev.sluice.config;

import java.util.List;

/**
 * How a pool counts the tokens its requests use: the usage it asks streams for, the completion it assumes when a
 * request names none, and how it recognises a provider saying a key's budget is spent. YAML keys of the pool:
 * {@code stream_usage}, {@code default_max_tokens}, {@code quota_errors}.
 *
 * @param streamUsage for a streaming request whose caller did not ask for {@code stream_options.include_usage},
 *     Sluice asks the upstream for it and removes the usage event from the stream before the caller sees it, so
 *     that every stream reports the tokens it used; false forwards such requests unedited (for providers that
 *     reject the option), and their usage is estimated. Default true
 * @param defaultMaxTokens the completion tokens a request is assumed to take when its body names neither
 *     {@code max_tokens} nor {@code max_completion_tokens}, reserved of a backend's tokens-per-minute budget until
 *     the answer says what it used; tokens, 1..1,000,000, default 1024
 * @param quotaErrors which upstream answers are the provider's quota error (a key's budget or credit is spent, as
 *     opposed to a per-minute rate limit)
 */
public record AccountingConfig(boolean streamUsage, int defaultMaxTokens, QuotaErrors quotaErrors) {
  public static final boolean DEFAULT_STREAM_USAGE = true;
  public static final int DEFAULT_MAX_TOKENS = 1024;
  public static final int MAX_DEFAULT_MAX_TOKENS = 1_000_000;

  /** Every setting at its default. */
  public static AccountingConfig defaults() {
    return new AccountingConfig(DEFAULT_STREAM_USAGE, DEFAULT_MAX_TOKENS, QuotaErrors.defaults());
  }

  /**
   * An upstream answer is the provider's quota error when its status is one of {@code statuses} and the first
   * {@value #MATCHED_BYTES} bytes of its body contain one of {@code patterns}, compared without regard to case.
   *
   * <p>The default patterns were chosen from what the providers send when a key's budget or credit is spent, and
   * none of them occurs in their per-minute rate-limit messages (OpenAI's "Rate limit reached for ... on tokens per
   * min (TPM)", which may also point to the billing page; Anthropic's "exceeded your ... per-minute rate limit"):
   * OpenAI's {@code insufficient_quota} and {@code billing_hard_limit_reached} (429); Anthropic's "Your
   * {@code credit balance} is too low" and "You have reached your specified API {@code usage limit}s" (400);
   * {@code insufficient credits} and {@code insufficient balance} (402 of OpenAI-compatible resellers) and
   * {@code payment required} (the title of a 402 problem document, as NVIDIA's API sends); and Google's per-day
   * quotas, whose quota ids contain {@code PerDay}. Google words its per-minute and per-day 429s alike ("You
   * exceeded your current quota"), which is why that phrase is not a default: only the per-day id tells them apart.
   *
   * @param statuses upstream statuses that may carry a quota error, each 100..599; default 400, 402, 403, 429. An
   *     empty list recognises none
   * @param patterns substrings of such an answer's body, each non-empty; default as above. An empty list
   *     recognises none
   */
  public record QuotaErrors(List<Integer> statuses, List<String> patterns) {
    /** How much of an answer's body is searched for the patterns, in bytes. */
    public static final int MATCHED_BYTES = 8 * 1024;
    public static final List<Integer> DEFAULT_STATUSES = List.of(400, 402, 403, 429);
    public static final List<String> DEFAULT_PATTERNS = List.of("insufficient_quota", "billing_hard_limit_reached",
        "credit balance", "usage limit", "insufficient credits", "insufficient balance", "payment required",
        "perday");

    public QuotaErrors {
      statuses = List.copyOf(statuses);
      patterns = List.copyOf(patterns);
    }

    public static QuotaErrors defaults() {
      return new QuotaErrors(DEFAULT_STATUSES, DEFAULT_PATTERNS);
    }
  }
}
