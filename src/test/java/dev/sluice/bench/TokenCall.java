package dev.sluice.bench;

/**
 * One request of the token benchmark as its caller saw it ({@link TokenLoad}).
 *
 * @param offsetNanos intended send instant, from the run's start
 * @param sendLagNanos how late it was actually sent
 * @param promptTokens its prompt, in the simulated provider's tokens
 * @param maxTokens its {@code max_tokens}
 * @param status HTTP status; 0 without an answer
 * @param code the OpenAI error's {@code code}, "" if none
 * @param latencyNanos from the intended send to the whole answer; -1 without an answer
 * @param queueMillis {@code X-Sluice-Queue-Ms}; -1 when absent
 * @param failure the exception's simple name when no answer came ("" otherwise)
 * @param usageTokens {@code usage.total_tokens} of the answer; -1 when it had none
 */
record TokenCall(long offsetNanos, long sendLagNanos, int promptTokens, int maxTokens, int status, String code,
    long latencyNanos, double queueMillis, String failure, long usageTokens) {
  boolean answered() {
    return status > 0;
  }

  boolean ok() {
    return status >= 200 && status < 300;
  }

  /** When the answer arrived, from the run's start; -1 without one. */
  long answerNanos() {
    return latencyNanos < 0 ? -1 : offsetNanos + latencyNanos;
  }

  /** "429 rate_limited", "503 -", or "no answer (HttpTimeoutException)"; null for a 2xx. */
  String outcome() {
    if (!answered()) {
      return "no answer (" + (failure.isEmpty() ? "-" : failure) + ")";
    }
    return ok() ? null : status + " " + (code.isEmpty() ? "-" : code);
  }
}
