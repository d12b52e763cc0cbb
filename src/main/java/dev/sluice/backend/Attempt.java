package dev.sluice.backend;

/**
 * What one upstream attempt produced, as far as the backend's limiters care: the feedback a {@link Permit} is
 * released with.
 *
 * @param status the upstream's status, or 0 when it never answered (connect failure, reset, timeout)
 * @param retryAfterNanos the upstream's {@code Retry-After}, in nanoseconds, or 0 when absent
 */
public record Attempt(int status, long retryAfterNanos) {

  /** The attempt never got an answer: nothing to learn about the upstream's limits. */
  public static Attempt unanswered() {
    return new Attempt(0, 0);
  }

  public boolean answered() {
    return status > 0;
  }

  public boolean rateLimited() {
    return status == 429;
  }
}
