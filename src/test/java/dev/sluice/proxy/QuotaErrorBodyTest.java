package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.AccountingConfig.QuotaErrors;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.zip.DeflaterOutputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuotaErrorBodyTest {
  private static final List<String> DEFAULTS = QuotaErrors.DEFAULT_PATTERNS;

  private static boolean matches(String body, String coding, List<String> patterns) {
    return matches(body.getBytes(StandardCharsets.UTF_8), coding, patterns);
  }

  private static boolean matches(byte[] body, String coding, List<String> patterns) {
    QuotaErrorBody kept = new QuotaErrorBody(coding);
    kept.take(ByteBuffer.wrap(body));
    return kept.matches(patterns);
  }

  /** What providers answer when a key's budget or credit is spent. */
  @ParameterizedTest
  @ValueSource(strings = {
      // OpenAI, 429
      "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and billing details.\","
          + "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
      "{\"error\":{\"message\":\"Billing hard limit has been reached\",\"type\":\"invalid_request_error\","
          + "\"code\":\"billing_hard_limit_reached\"}}",
      // Anthropic, 400
      "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"Your credit balance is too"
          + " low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.\"}}",
      "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"You have reached your"
          + " specified API usage limits. You will regain access on 2026-01-01 at 00:00 UTC.\"}}",
      // Google, 429 on a per-day quota
      "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check your plan and billing"
          + " details.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
          + "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":"
          + "\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"}]}]}}",
      // 402 of resellers and of a problem document
      "{\"error\":{\"message\":\"Insufficient credits. Add more using https://openrouter.ai/settings/credits\","
          + "\"code\":402}}",
      "{\"error\":{\"message\":\"Insufficient Balance\",\"type\":\"unknown_error\"}}",
      "{\"status\":402,\"title\":\"Payment Required\",\"detail\":\"Account credits exhausted\"}"})
  void theDefaultPatternsKnowTheProvidersQuotaErrors(String body) {
    assertThat(matches(body, null, DEFAULTS)).isTrue();
  }

  /** What providers answer when a per-minute limit is reached: the key's budget is not spent. */
  @ParameterizedTest
  @ValueSource(strings = {
      "{\"error\":{\"message\":\"Rate limit reached for gpt-4o in organization org-x on tokens per min (TPM):"
          + " Limit 30000, Used 29500, Requested 900. Please try again in 1.8s. Visit"
          + " https://platform.openai.com/account/rate-limits to learn more.\",\"type\":\"tokens\",\"param\":null,"
          + "\"code\":\"rate_limit_exceeded\"}}",
      "{\"error\":{\"message\":\"Rate limit reached for default-gpt-3.5-turbo in organization org-x on requests per"
          + " min. Limit: 3 / min. Please try again in 20s. Please add a payment method to your account to increase"
          + " your rate limit. Visit https://platform.openai.com/account/billing to add a payment method.\","
          + "\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}",
      "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"This request would exceed the"
          + " rate limit for your organization of 50,000 input tokens per minute.\"}}",
      "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please check your plan and billing"
          + " details.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
          + "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":[{\"quotaId\":"
          + "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"}]}]}}",
      "{\"status\":429,\"title\":\"Too Many Requests\"}"})
  void theDefaultPatternsLeavePerMinuteLimitsAlone(String body) {
    assertThat(matches(body, null, DEFAULTS)).isFalse();
  }

  @Test
  void patternsAreComparedWithoutRegardToCase() {
    assertThat(matches("QUOTA EXCEEDED for this key", null, List.of("quota exceeded"))).isTrue();
    assertThat(matches("quota exceeded", null, List.of("Quota Exceeded"))).isTrue();
    assertThat(matches("quota exceeded", null, List.of())).isFalse();
  }

  @Test
  void onlyTheFirst8KiBAreKeptAndMatched() {
    QuotaErrorBody kept = new QuotaErrorBody(null);
    byte[] padding = new byte[QuotaErrors.MATCHED_BYTES - 5];
    Arrays.fill(padding, (byte) ' ');
    kept.take(ByteBuffer.wrap(padding));
    kept.take(ByteBuffer.wrap("quota exceeded".getBytes(StandardCharsets.US_ASCII)));
    assertThat(kept.matches(List.of("quota"))).isTrue();
    assertThat(kept.matches(List.of("exceeded"))).isFalse();
  }

  @Test
  void aCompressedBodyIsInflatedEvenWhenCutShort() throws Exception {
    StringBuilder noise = new StringBuilder();
    java.util.Random random = new java.util.Random(1);
    for (int i = 0; i < 40_000; i++) {
      noise.append((char) ('a' + random.nextInt(26)));
    }
    // Compressed, it is still longer than what is kept: the body inflates only in part.
    String body = "{\"error\":{\"code\":\"insufficient_quota\",\"noise\":\"" + noise + "\"}}";
    byte[] gzip = gzip(body);
    assertThat(gzip.length).isGreaterThan(2 * QuotaErrors.MATCHED_BYTES);
    assertThat(matches(gzip, "gzip", List.of("insufficient_quota"))).isTrue();
    assertThat(matches(gzip, "GZIP", List.of("\"}}"))).isFalse();
    assertThat(matches(deflate(body), "deflate", List.of("insufficient_quota"))).isTrue();
    assertThat(matches(gzip, "br", List.of("insufficient_quota"))).isFalse();
    assertThat(matches("not gzip at all", "gzip", List.of("gzip"))).isFalse();
  }

  private static byte[] gzip(String text) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(out)) {
      gzip.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  private static byte[] deflate(String text) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (DeflaterOutputStream deflate = new DeflaterOutputStream(out)) {
      deflate.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }
}
