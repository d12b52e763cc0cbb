package dev.sluice.schedule;

import dev.sluice.time.Waits;

/**
 * Why the dispatcher answers a waiter itself, and the pool's state for the headers providers use, so that an SDK
 * or agent backs off from Sluice as it would from the provider.
 *
 * @param status 429 (waited too long, or the upstream is at its limit) or 503 (queue full, evicted, shutting down)
 * @param code OpenAI-style error code
 * @param message explanation for the caller
 * @param limitRpm the pool's combined rate in force, requests per minute ({@code x-ratelimit-limit-requests})
 * @param remaining requests the pool could send at once beyond those already waiting, at least 0
 *     ({@code x-ratelimit-remaining-requests})
 * @param waitNanos how long until a request of this caller's could be served, from its position and the backends'
 *     refill rates ({@code x-ratelimit-reset-requests}, and rounded up to whole seconds {@code Retry-After})
 */
public record Rejection(int status, String code, String message, long limitRpm, long remaining, long waitNanos) {
  /** The {@code Retry-After} to send: {@link #waitNanos} in whole seconds, rounded up, at least 1. */
  public long retryAfterSeconds() {
    return Waits.retryAfterSeconds(waitNanos);
  }
}
