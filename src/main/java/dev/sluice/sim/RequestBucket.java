package dev.sluice.sim;

/**
 * A token bucket of requests: {@code capacity} tokens, refilled continuously at {@code rpm / 60} per second. Not
 * thread-safe: {@link Limits} guards it. Times are {@code Clock.nanoTime()} values passed in.
 */
final class RequestBucket {
  private static final double NANOS_PER_MINUTE = 60e9;
  private int rpm;
  private int capacity;
  private double tokens;
  private long lastRefillNanos;

  /** Starts over with {@code tokens} tokens (clamped to {@code 0..capacity}). */
  void reset(int rpm, int capacity, double tokens, long nowNanos) {
    this.rpm = rpm;
    this.capacity = capacity;
    this.tokens = Math.clamp(tokens, 0.0, capacity);
    this.lastRefillNanos = nowNanos;
  }

  /** Adds what has dripped in since the last refill. */
  void refill(long nowNanos) {
    if (rpm > 0 && nowNanos > lastRefillNanos) {
      tokens = Math.min(capacity, tokens + (nowNanos - lastRefillNanos) * rpm / NANOS_PER_MINUTE);
    }
    lastRefillNanos = Math.max(lastRefillNanos, nowNanos);
  }

  double tokens() {
    return tokens;
  }

  /** Takes one token if there is one; never goes below zero. */
  void take() {
    tokens = Math.max(0.0, tokens - 1.0);
  }

  /** Nanoseconds until one whole token is available; 0 if one is now. Call {@link #refill} first. */
  long nanosUntilOne() {
    return tokens >= 1.0 ? 0 : nanosFor(1.0 - tokens);
  }

  /** Nanoseconds until the bucket is full again. Call {@link #refill} first. */
  long nanosUntilFull() {
    return nanosFor(capacity - tokens);
  }

  private long nanosFor(double missingTokens) {
    return missingTokens <= 0 ? 0 : Math.max(1, (long) Math.ceil(missingTokens * NANOS_PER_MINUTE / rpm));
  }

  @Override
  public String toString() {
    return "RequestBucket[tokens=" + tokens + ", capacity=" + capacity + ", rpm=" + rpm + "]";
  }
}
