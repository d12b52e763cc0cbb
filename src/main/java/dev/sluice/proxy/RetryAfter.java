package dev.sluice.proxy;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;

/**
 * How long an upstream's 429 asks us to wait, from the most precise statement it makes: {@code retry-after-ms};
 * else, when {@code x-ratelimit-remaining-requests} is 0, the {@code x-ratelimit-reset-requests} duration
 * (OpenAI-style Go durations such as {@code 120ms} or {@code 1m30s}); else, when
 * {@code x-ratelimit-remaining-tokens} is 0, {@code x-ratelimit-reset-tokens}; else {@code Retry-After} in seconds or
 * as an HTTP date. Providers round {@code Retry-After} up to whole seconds, while their request bucket often refills a
 * token within milliseconds; waiting the rounded second would idle the key. Stateless.
 */
final class RetryAfter {
  private static final long NANOS_PER_MILLI = 1_000_000L;
  private static final Pattern GO_DURATION_PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(h|ms|us|µs|ns|m|s)");

  private RetryAfter() {}

  /** Nanoseconds to wait, or 0 when the response names no wait. */
  static long nanos(HttpFields headers, long nowWallMillis) {
    long millis = positiveMillis(headers.get("retry-after-ms"));
    if (millis > 0) {
      return millis * NANOS_PER_MILLI;
    }
    long reset = resetWhenNoneRemain(headers, "requests");
    if (reset == 0) {
      reset = resetWhenNoneRemain(headers, "tokens");
    }
    return reset > 0 ? reset : retryAfterNanos(headers.get(HttpHeader.RETRY_AFTER), nowWallMillis);
  }

  /** {@code x-ratelimit-reset-KIND} when {@code x-ratelimit-remaining-KIND} is 0, else 0. */
  private static long resetWhenNoneRemain(HttpFields headers, String kind) {
    HttpField remaining = headers.getField("x-ratelimit-remaining-" + kind);
    if (remaining == null || !"0".equals(remaining.getValue().strip())) {
      return 0;
    }
    return goDurationNanos(headers.get("x-ratelimit-reset-" + kind));
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
    if (value == null || value.isBlank()) {
      return 0;
    }
    String text = value.strip();
    Matcher part = GO_DURATION_PART.matcher(text);
    double nanos = 0;
    int end = 0;
    while (part.find() && part.start() == end) {
      double amount = Double.parseDouble(part.group(1));
      nanos += amount * switch (part.group(2)) {
        case "h" -> 3_600e9;
        case "m" -> 60e9;
        case "s" -> 1e9;
        case "ms" -> 1e6;
        case "us", "µs" -> 1e3;
        default -> 1;
      };
      end = part.end();
    }
    return end == text.length() ? (long) Math.ceil(nanos) : 0;
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
