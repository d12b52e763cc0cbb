package dev.sluice.proxy;

import dev.sluice.backend.RateHeaders;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * How long an upstream's 429 asks us to wait, from the most precise statement it makes: {@code retry-after-ms};
 * else, when {@code x-ratelimit-remaining-requests} is 0, the {@code x-ratelimit-reset-requests} duration
 * (OpenAI-style Go durations such as {@code 120ms} or {@code 1m30s}); else, when
 * {@code x-ratelimit-remaining-tokens} is 0, {@code x-ratelimit-reset-tokens} (both as {@link RateLimitHeaders}
 * reads them); else {@code Retry-After} in seconds or as an HTTP date. Providers round {@code Retry-After} up to
 * whole seconds, while their request bucket often refills a token within milliseconds; waiting the rounded second
 * would idle the key. Stateless.
 */
final class RetryAfter {
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private RetryAfter() {}

  /** Nanoseconds to wait, or 0 when the response names no wait. */
  static long nanos(HttpFields headers, long nowWallMillis) {
    return nanos(headers, RateLimitHeaders.read(headers, nowWallMillis), nowWallMillis);
  }

  /** {@link #nanos(HttpFields, long)} with the response's rate-limit headers already read. */
  static long nanos(HttpFields headers, RateHeaders rate, long nowWallMillis) {
    long millis = positiveMillis(headers.get("retry-after-ms"));
    if (millis > 0) {
      return millis * NANOS_PER_MILLI;
    }
    if (rate.remainingRequests() == 0 && rate.resetRequestsNanos() > 0) {
      return rate.resetRequestsNanos();
    }
    if (rate.remainingTokens() == 0 && rate.resetTokensNanos() > 0) {
      return rate.resetTokensNanos();
    }
    return retryAfterNanos(headers.get(HttpHeader.RETRY_AFTER), nowWallMillis);
  }

  /** {@code Retry-After}: delay seconds (fractions tolerated) or an HTTP date; 0 when absent or unreadable. */
  static long retryAfterNanos(String value, long nowWallMillis) {
    if (value == null || value.isBlank()) {
      return 0;
    }
    try {
      double seconds = Double.parseDouble(value.strip());
      return seconds > 0 ? (long) (seconds * 1_000_000_000L) : 0;
    } catch (NumberFormatException notSeconds) {
      try {
        long at = ZonedDateTime.parse(value.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli();
        return Math.max(0, at - nowWallMillis) * NANOS_PER_MILLI;
      } catch (DateTimeParseException notADate) {
        return 0;
      }
    }
  }

  /** A Go duration ({@code 1h2m3.5s}, {@code 250ms}); 0 when absent or unreadable. */
  static long goDurationNanos(String value) {
    return value == null ? 0 : Math.max(0, RateLimitHeaders.goDurationNanos(value.strip()));
  }

  private static long positiveMillis(String value) {
    if (value == null || value.isBlank()) {
      return 0;
    }
    try {
      return (long) Math.ceil(Math.max(0, Double.parseDouble(value.strip())));
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
