package dev.sluice.config;

/** What a pool does with a new request when its queue is full. */
public enum FullPolicy {
  /** Skip the queue and go straight to dispatch; the request still takes a token. */
  PASSTHROUGH,
  /** Answer 503 with {@code Retry-After}. */
  REJECT,
  /** Evict the lowest-priority, newest waiter (answered 503 at once); a newcomer that is itself lowest is refused. */
  DROP_LOWEST
}
