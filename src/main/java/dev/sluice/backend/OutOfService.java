package dev.sluice.backend;

/**
 * Why a backend gets no traffic at all. Immutable.
 *
 * @param disabled whether an operator disabled it (else its upstream refused its key)
 * @param sinceMillis wall time, ms since the epoch
 * @param status the upstream's status (401 or 403), or 0 when disabled
 */
public record OutOfService(boolean disabled, long sinceMillis, int status) {
  /** For logs and answers, e.g. {@code dead: the upstream answered 401 to its key}. */
  public String describe() {
    return disabled ? "disabled by an operator" : "dead: the upstream answered " + status + " to its key";
  }
}
