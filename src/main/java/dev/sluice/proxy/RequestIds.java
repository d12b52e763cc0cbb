package dev.sluice.proxy;

import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Names each request for the caller ({@value #RESPONSE_HEADER} on every answer) and for the request log: the
 * caller's own {@value #CALLER_HEADER} when it is sane (1 to {@value #MAX_CALLER_ID_LENGTH} characters of
 * {@code A-Z a-z 0-9 - _ .}), otherwise this instance's random prefix and a sequence number, both in base 36, e.g.
 * {@code 1a2b3c4d-1f}. One instance serves the whole listener, so that every answer of a process shares the prefix.
 * Thread-safe: the sequence is atomic.
 */
public final class RequestIds {
  static final String CALLER_HEADER = "X-Request-Id";
  static final String RESPONSE_HEADER = "X-Sluice-Request-Id";
  static final int MAX_CALLER_ID_LENGTH = 64;
  /** Eight base-36 digits, so that ids of two Sluice processes (or two restarts) are unlikely to meet. */
  private final String prefix = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40, 1L << 41), 36);
  private final AtomicLong sequence = new AtomicLong();

  /**
   * Names {@code response} by the id of {@code request}, for answers that go to no request log, and stamps the
   * time Sluice has spent on it so far ({@value TimingHeaders#OVERHEAD}): such answers wait for nothing else.
   */
  public void nameResponse(Request request, Response response) {
    response.getHeaders().put(RESPONSE_HEADER, idFor(request.getHeaders()));
    TimingHeaders.putOverhead(response.getHeaders(), NanoTime.since(request.getBeginNanoTime()));
  }

  /** The id of the request with these headers. */
  String idFor(HttpFields requestHeaders) {
    String given = requestHeaders.get(CALLER_HEADER);
    if (given != null && !given.isEmpty() && given.length() <= MAX_CALLER_ID_LENGTH
        && given.chars().allMatch(RequestIds::isIdChar)) {
      return given;
    }
    return prefix + "-" + Long.toString(sequence.incrementAndGet(), 36);
  }

  private static boolean isIdChar(int c) {
    return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.';
  }
}
