package dev.sluice.proxy;

import dev.sluice.backend.RateHeaders;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;

/**
 * Reads an upstream's own rate limiter from its {@code x-ratelimit-*} response headers, as OpenAI, NVIDIA and
 * others send them: {@code limit}, {@code remaining} and {@code reset} of {@code requests} and of {@code tokens}.
 * Counts are non-negative integers. A reset is a Go duration ({@code 1s}, {@code 6m0s}, {@code 59.517s},
 * {@code 20ms}) or plain seconds ({@code 30}, {@code 0.5}); a plain number of at least {@value #EPOCH_SECONDS_FROM}
 * cannot be a wait (that is 31 years) and is read as the Unix time of the reset, in seconds, as some APIs send it.
 * A header that is missing or unreadable reads as {@link RateHeaders#ABSENT}. The answer's headers are walked once.
 * Stateless.
 */
final class RateLimitHeaders {
  private static final String PREFIX = "x-ratelimit-";
  /** Plain reset values from here on are Unix times in seconds, not waits. */
  static final long EPOCH_SECONDS_FROM = 1_000_000_000L;
  private static final long NANOS_PER_MILLI = 1_000_000L;

  private RateLimitHeaders() {}

  /** The six headers; {@code nowWallMillis} turns a reset given as a Unix time into a wait. */
  static RateHeaders read(HttpFields headers, long nowWallMillis) {
    long limitRequests = RateHeaders.ABSENT;
    long remainingRequests = RateHeaders.ABSENT;
    long resetRequests = RateHeaders.ABSENT;
    long limitTokens = RateHeaders.ABSENT;
    long remainingTokens = RateHeaders.ABSENT;
    long resetTokens = RateHeaders.ABSENT;
    boolean any = false;
    for (HttpField field : headers) {
      String name = field.getName();
      if (name.length() <= PREFIX.length() || !name.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
        continue;
      }
      String value = field.getValue();
      any = true;
      if (named(name, "limit-requests")) {
        limitRequests = count(value);
      } else if (named(name, "remaining-requests")) {
        remainingRequests = count(value);
      } else if (named(name, "reset-requests")) {
        resetRequests = resetNanos(value, nowWallMillis);
      } else if (named(name, "limit-tokens")) {
        limitTokens = count(value);
      } else if (named(name, "remaining-tokens")) {
        remainingTokens = count(value);
      } else if (named(name, "reset-tokens")) {
        resetTokens = resetNanos(value, nowWallMillis);
      }
    }
    return any ? new RateHeaders(limitRequests, remainingRequests, resetRequests, limitTokens, remainingTokens,
        resetTokens) : RateHeaders.NONE;
  }

  /** Whether header {@code name} is {@code x-ratelimit-} followed by {@code kind}, in any case. */
  private static boolean named(String name, String kind) {
    return name.length() == PREFIX.length() + kind.length()
        && name.regionMatches(true, PREFIX.length(), kind, 0, kind.length());
  }

  /** A non-negative integer count, or {@link RateHeaders#ABSENT}. */
  static long count(String value) {
    if (value == null) {
      return RateHeaders.ABSENT;
    }
    try {
      long count = Long.parseLong(value.strip());
      return count >= 0 ? count : RateHeaders.ABSENT;
    } catch (NumberFormatException notACount) {
      return RateHeaders.ABSENT;
    }
  }

  /** A reset as nanoseconds from now: a Go duration, plain seconds or a Unix time; else {@link RateHeaders#ABSENT}. */
  static long resetNanos(String value, long nowWallMillis) {
    if (value == null) {
      return RateHeaders.ABSENT;
    }
    String text = value.strip();
    if (isPlainNumber(text)) {
      double seconds = Double.parseDouble(text);
      if (seconds >= EPOCH_SECONDS_FROM) {
        return Math.max(0, (long) (seconds * 1000) - nowWallMillis) * NANOS_PER_MILLI;
      }
      return (long) Math.ceil(seconds * 1e9);
    }
    long nanos = goDurationNanos(text);
    return nanos >= 0 ? nanos : RateHeaders.ABSENT;
  }

  /**
   * A Go duration without sign ({@code 1h2m3.5s}, {@code 250ms}, {@code 20us}), rounded up to whole nanoseconds;
   * -1 when {@code text} is not one.
   */
  static long goDurationNanos(String text) {
    int n = text.length();
    if (n == 0) {
      return -1;
    }
    double nanos = 0;
    int i = 0;
    while (i < n) {
      int start = i;
      while (i < n && isDigit(text.charAt(i))) {
        i++;
      }
      int digits = i - start;
      if (i < n && text.charAt(i) == '.') {
        i++;
        int fractionStart = i;
        while (i < n && isDigit(text.charAt(i))) {
          i++;
        }
        digits += i - fractionStart;
      }
      if (digits == 0) {
        return -1;
      }
      double amount = Double.parseDouble(text.substring(start, i));
      double unitNanos;
      if (text.startsWith("ms", i)) {
        unitNanos = 1e6;
        i += 2;
      } else if (text.startsWith("us", i) || text.startsWith("µs", i)) {
        unitNanos = 1e3;
        i += 2;
      } else if (text.startsWith("ns", i)) {
        unitNanos = 1;
        i += 2;
      } else if (i < n && text.charAt(i) == 'h') {
        unitNanos = 3_600e9;
        i++;
      } else if (i < n && text.charAt(i) == 'm') {
        unitNanos = 60e9;
        i++;
      } else if (i < n && text.charAt(i) == 's') {
        unitNanos = 1e9;
        i++;
      } else {
        return -1;
      }
      nanos += amount * unitNanos;
    }
    return (long) Math.ceil(nanos);
  }

  /** Digits with at most one decimal point, and at least one digit. */
  private static boolean isPlainNumber(String text) {
    boolean digit = false;
    boolean point = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (isDigit(c)) {
        digit = true;
      } else if (c == '.' && !point) {
        point = true;
      } else {
        return false;
      }
    }
    return digit;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
