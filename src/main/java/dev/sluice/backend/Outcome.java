package dev.sluice.backend;

import java.util.Optional;

/**
 * What happened to one request: the single record that logs, counters and (later) every limiter learn from.
 *
 * @param requestId id of the request, also returned to the caller as {@code X-Sluice-Request-Id}
 * @param method HTTP method
 * @param path request path as received (without query)
 * @param pool pool name, or empty for passthrough and requests Sluice answered itself
 * @param backendId backend id, {@code passthrough}, or empty when nothing was sent upstream
 * @param model the request's {@code model}, or empty
 * @param priority the request's priority
 * @param stream whether the caller asked for a stream
 * @param status status sent to the caller (0 when the connection failed before a status was sent)
 * @param failure why the exchange did not complete normally
 * @param queueNanos time spent in the pool's queue, every stay added up (a request put back after an upstream 429
 *     queues again); 0 when it never queued
 * @param upstreamNanos time from sending upstream to the end of the response
 * @param firstByteNanos time from sending the answered attempt upstream to the upstream's response headers; 0 when
 *     no upstream answered
 * @param overheadNanos the time Sluice itself added before the caller got the response headers: everything but
 *     the queue and the waits for the upstream (as sent in {@code X-Sluice-Overhead-Ms})
 * @param totalNanos time from arrival to the end of the response
 * @param responseBytes body bytes written to the caller
 * @param attempts upstream attempts made (more than one when a failure before the first byte was retried)
 * @param usage token usage reported by the upstream, or estimated by Sluice for an answer (2xx) that reported none
 * @param retried what each attempt that was retried got, in order: the upstream's status ({@code "429"},
 *     {@code "500"}) or {@code connect}, {@code reset}, {@code timeout}; empty when none was
 */
public record Outcome(
    String requestId, String method, String path, Optional<String> pool, Optional<String> backendId,
    Optional<String> model, Priority priority, boolean stream, int status, Failure failure, long queueNanos,
    long upstreamNanos, long firstByteNanos, long overheadNanos, long totalNanos, long responseBytes, int attempts,
    Optional<Usage> usage, java.util.List<String> retried) {

  /** Why an exchange ended other than normally. */
  public enum Failure {
    /** Completed as the upstream answered (whatever its status). */
    NONE,
    /** Invalid input, answered 4xx by Sluice without going upstream. */
    REJECTED,
    /** Waited too long for a free slot: 429 from Sluice. */
    RATE_LIMITED,
    /** Queue full, evicted or shutting down: 503 from Sluice. */
    QUEUE_FULL,
    UPSTREAM_CONNECT, UPSTREAM_TIMEOUT, UPSTREAM_ERROR, CLIENT_DISCONNECTED;

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * Token usage as reported in the upstream's {@code usage} object, or estimated by Sluice from the bytes when the
   * upstream reported none ({@code estimated}).
   */
  public record Usage(long promptTokens, long completionTokens, long totalTokens, boolean estimated) {
    /** Usage as the upstream reported it. */
    public Usage(long promptTokens, long completionTokens, long totalTokens) {
      this(promptTokens, completionTokens, totalTokens, false);
    }
  }
}
