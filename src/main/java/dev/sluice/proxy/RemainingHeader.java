package dev.sluice.proxy;

import dev.sluice.backend.Attempt;
import org.eclipse.jetty.http.HttpFields;

/**
 * Reads an upstream's {@code x-ratelimit-remaining-*} count: what its own limiter says is left, which tells a 429
 * about the rate (none left) from one about concurrency (some left). Stateless.
 */
final class RemainingHeader {
  static final String REQUESTS = "x-ratelimit-remaining-requests";
  static final String TOKENS = "x-ratelimit-remaining-tokens";

  private RemainingHeader() {}

  /** The count in header {@code name}, or {@link Attempt#ABSENT} when it is missing, negative or not a number. */
  static long of(HttpFields headers, String name) {
    String value = headers.get(name);
    if (value == null) {
      return Attempt.ABSENT;
    }
    try {
      long count = Long.parseLong(value.strip());
      return count >= 0 ? count : Attempt.ABSENT;
    } catch (NumberFormatException notACount) {
      return Attempt.ABSENT;
    }
  }
}
