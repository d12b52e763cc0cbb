package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.RateHeaders;
import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RateLimitHeadersTest {
  private static final long NOW_MILLIS = 1_767_225_600_000L; // Thu, 01 Jan 2026 00:00:00 GMT
  private static final long ABSENT = RateHeaders.ABSENT;

  @Test
  void readsAllSixHeadersAsOpenAiSendsThem() {
    HttpFields headers = HttpFields.build().put("Content-Type", "application/json")
        .put("x-ratelimit-limit-requests", "10000").put("x-ratelimit-remaining-requests", "9999")
        .put("x-ratelimit-reset-requests", "6ms").put("x-ratelimit-limit-tokens", "2000000")
        .put("x-ratelimit-remaining-tokens", "1999976").put("x-ratelimit-reset-tokens", "6m0s");

    assertThat(RateLimitHeaders.read(headers, NOW_MILLIS)).isEqualTo(
        new RateHeaders(10_000, 9_999, 6_000_000L, 2_000_000, 1_999_976, 360_000_000_000L));
  }

  @Test
  void headerNamesAreMatchedInAnyCaseAndMissingOnesAreAbsent() {
    HttpFields headers = HttpFields.build().put("X-RateLimit-Remaining-Tokens", "0")
        .put("X-RATELIMIT-RESET-TOKENS", "59.517s").put("x-ratelimit-remaining-requests-day", "5");

    assertThat(RateLimitHeaders.read(headers, NOW_MILLIS))
        .isEqualTo(new RateHeaders(ABSENT, ABSENT, ABSENT, ABSENT, 0, 59_517_000_000L));
  }

  @Test
  void anAnswerWithoutThemHasNone() {
    assertThat(RateLimitHeaders.read(HttpFields.build().put("Content-Type", "text/plain"), NOW_MILLIS))
        .isSameAs(RateHeaders.NONE);
  }

  @ParameterizedTest
  @CsvSource(nullValues = "none", value = {
      "0, 0", "12, 12", "' 7 ', 7", "none, -1", "'', -1", "-3, -1", "lots, -1", "1.5, -1"})
  void aCountIsANonNegativeIntegerOrAbsent(String value, long expected) {
    assertThat(RateLimitHeaders.count(value)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource(nullValues = "none", value = {
      "1s, 1000000000", "6m0s, 360000000000", "59.517s, 59517000000", "20ms, 20000000", "1h2m3.5s, 3723500000000",
      "0s, 0", "250us, 250000", "3ns, 3", "30, 30000000000", "0.5, 500000000", "0, 0", "' 2s ', 2000000000",
      // A plain number this large is a Unix time: here 7 s after now; one in the past is no wait.
      "1767225607, 7000000000", "1767225000, 0",
      "none, -1", "'', -1", "soon, -1", "5s later, -1", "-1s, -1", "1.2.3, -1", "s, -1", "1x, -1"})
  void aResetIsAGoDurationPlainSecondsOrAUnixTime(String value, long expectedNanos) {
    assertThat(RateLimitHeaders.resetNanos(value, NOW_MILLIS)).isEqualTo(expectedNanos);
  }
}
