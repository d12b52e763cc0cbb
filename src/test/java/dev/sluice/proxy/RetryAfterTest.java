package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryAfterTest {
  private static final long NOW_MILLIS = 1_767_225_600_000L; // Thu, 01 Jan 2026 00:00:00 GMT

  @ParameterizedTest
  @CsvSource({
      "250ms, 250000000", "1s, 1000000000", "1.5s, 1500000000", "1m30s, 90000000000", "6m0s, 360000000000",
      "1h2m3.5s, 3723500000000", "20us, 20000", "0s, 0", "soon, 0", "10, 0", "5s later, 0"})
  void readsGoDurationsAsOpenAiSendsThem(String value, long nanos) {
    assertThat(RetryAfter.goDurationNanos(value)).isEqualTo(nanos);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "2 | 2000000000", "0.5 | 500000000", "0 | 0", "-3 | 0", "never | 0",
      "Thu, 01 Jan 2026 00:00:07 GMT | 7000000000", "Wed, 31 Dec 2025 23:59:00 GMT | 0"})
  void readsRetryAfterSecondsAndDates(String value, long nanos) {
    assertThat(RetryAfter.retryAfterNanos(value, NOW_MILLIS)).isEqualTo(nanos);
  }

  @Test
  void theMostPreciseStatementWins() {
    HttpFields all = HttpFields.build().put("Retry-After", "1").put("x-ratelimit-remaining-requests", "0")
        .put("x-ratelimit-reset-requests", "120ms").put("retry-after-ms", "80");
    HttpFields reset = HttpFields.build().put("Retry-After", "1").put("x-ratelimit-remaining-requests", "0")
        .put("x-ratelimit-reset-requests", "120ms");
    HttpFields requestsLeft = HttpFields.build().put("Retry-After", "2").put("x-ratelimit-remaining-requests", "3")
        .put("x-ratelimit-reset-requests", "120ms");

    assertThat(RetryAfter.nanos(all, NOW_MILLIS)).isEqualTo(80_000_000L);
    assertThat(RetryAfter.nanos(reset, NOW_MILLIS)).isEqualTo(120_000_000L);
    // Requests are left, so the 429 is about something else (tokens): the reset of requests says nothing.
    assertThat(RetryAfter.nanos(requestsLeft, NOW_MILLIS)).isEqualTo(2_000_000_000L);
    assertThat(RetryAfter.nanos(HttpFields.EMPTY, NOW_MILLIS)).isZero();
  }

  @Test
  void aResetInPlainSecondsIsAWaitToo() {
    HttpFields headers = HttpFields.build().put("Retry-After", "9").put("x-ratelimit-remaining-requests", "0")
        .put("x-ratelimit-reset-requests", "1.5");

    assertThat(RetryAfter.nanos(headers, NOW_MILLIS)).isEqualTo(1_500_000_000L);
  }

  @Test
  void whenNoTokensRemainTheResetOfTokensIsTheWait() {
    HttpFields tokens = HttpFields.build().put("Retry-After", "2").put("x-ratelimit-remaining-requests", "3")
        .put("x-ratelimit-remaining-tokens", "0").put("x-ratelimit-reset-tokens", "6.5s");

    assertThat(RetryAfter.nanos(tokens, NOW_MILLIS)).isEqualTo(6_500_000_000L);
  }
}
