package dev.sluice.config;

/** What a pool does with a new request when its queue is full. */
public enum FullPolicy {
  /**
   * Send the newcomer at once, beyond the rate, to a backend not known to be at its upstream limit (taking a token
   * only if one is free); while every backend is, answer 429 with {@code Retry-After}.
   */
  PASSTHROUGH,
  /** Answer 503 with {@code Retry-After}. */
  REJECT,
  /** Evict the lowest-priority, newest waiter (answered 503 at once); a newcomer that is itself lowest is refused. */
  DROP_LOWEST
}
