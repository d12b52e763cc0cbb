package dev.sluice.backend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RefusalKindTest {

  @ParameterizedTest(name = "remaining requests {0}, tokens {1} for {5}, {2} in flight of {3} expected: {4}")
  @CsvSource({
      // The provider's own count decides, requests first.
      "0, 0, 0, 1.0, RPM, 0",
      "0, 500, 30, 1.0, RPM, 0",
      "12, 0, 0, 1.0, TPM, 0",
      "-1, 0, 0, 1.0, TPM, 0",
      // Tokens left, but fewer than the request needs: a refusal about tokens, not concurrency.
      "12, 500, 0, 1.0, TPM, 501",
      "12, 500, 0, 1.0, CONCURRENCY, 500",
      "12, 500, 0, 1.0, CONCURRENCY, 0",
      "12, -1, 0, 1.0, CONCURRENCY, 900",
      // Without headers: many in flight is more than 2 x expected + 1.
      "-1, -1, 3, 1.0, UNKNOWN, 0",
      "-1, -1, 4, 1.0, CONCURRENCY, 0",
      "-1, -1, 21, 10.0, UNKNOWN, 0",
      "-1, -1, 22, 10.0, CONCURRENCY, 0",
      // Nothing accepted yet, so nothing is known of what the rate keeps in flight.
      "-1, -1, 40, -1.0, UNKNOWN, 0"})
  void classifiesA429ByTheProvidersCountThenByWhatWasInFlight(long remainingRequests, long remainingTokens,
      int inFlightAtSend, double expectedInFlight, RefusalKind expected, long requestTokens) {
    Attempt refused = new Attempt(429, 0, remainingRequests, remainingTokens);

    assertThat(RefusalKind.of(refused, inFlightAtSend, expectedInFlight, requestTokens)).isEqualTo(expected);
    assertThat(expected.rateEvidence()).isEqualTo(expected != RefusalKind.CONCURRENCY);
  }
}
