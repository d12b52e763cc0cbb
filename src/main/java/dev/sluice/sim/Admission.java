package dev.sluice.sim;

import java.util.List;
import java.util.Map;

/**
 * What {@link Limits#tryAdmit} decided for one model call.
 *
 * @param verdict accepted, or which limit refused
 * @param retryAfterNanos for a refusal, how long until the same call would be accepted; 0 when accepted
 * @param headers the {@code x-ratelimit-*} headers to send, in order (empty when no limit is set)
 * @param message for a refusal, the OpenAI-style error message
 */
record Admission(Verdict verdict, long retryAfterNanos, List<Map.Entry<String, String>> headers, String message) {

  /** The outcome of the admission check. */
  enum Verdict { ACCEPTED, RATE, TOKENS, CONCURRENCY }

  Admission {
    headers = List.copyOf(headers);
  }

  boolean accepted() {
    return verdict == Verdict.ACCEPTED;
  }
}
