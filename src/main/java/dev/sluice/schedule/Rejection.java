package dev.sluice.schedule;

/**
 * Why the dispatcher answers a waiter itself.
 *
 * @param status 429 (waited too long) or 503 (queue full, evicted, shutting down)
 * @param code OpenAI-style error code
 * @param message explanation for the caller
 * @param retryAfterSeconds the {@code Retry-After} to send, from queue position and refill math, ≥ 1
 */
public record Rejection(int status, String code, String message, long retryAfterSeconds) {}
