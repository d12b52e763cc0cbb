package dev.sluice.sim;

import java.util.List;
import java.util.Map;

/**
 * What {@link Limits#tryAdmit} decided for one model call.
 *
 * @param verdict accepted, or which limit refused
 * @param retryAfterNanos for a refusal, how long until the same call would be accepted, or {@link #NEVER} when no
 *     wait would let it in (it is larger than the whole limit); 0 when accepted
 * @param headers the {@code x-ratelimit-*} headers to send, in order (empty when no limit is set, when
 *     {@link SimConfig#rateHeaders()} is off, and for a quota refusal)
 * @param message for a refusal, the provider's error message
 */
record Admission(Verdict verdict, long retryAfterNanos, List<Map.Entry<String, String>> headers, String message) {
  /** The {@code retryAfterNanos} of a call that can never be admitted. */
  static final long NEVER = -1;

  /** The outcome of the admission check. */
  enum Verdict {
    ACCEPTED,
    /** Over {@code rpm}. */
    RATE,
    /** Over {@code tpm} for now. */
    TOKENS,
    /** Larger than the whole {@code tpm}. */
    TOO_LARGE,
    /** Over {@code maxConcurrent}. */
    CONCURRENCY,
    /** Over the {@code tokenBudget} of its window, for now or (larger than the whole budget) for good. */
    QUOTA
  }

  Admission {
    headers = List.copyOf(headers);
  }

  boolean accepted() {
    return verdict == Verdict.ACCEPTED;
  }
}
