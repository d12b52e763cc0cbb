package dev.sluice.config;

import dev.sluice.limit.RetreatPolicy;

/**
 * Defaults that apply to every pool.
 *
 * @param timeoutSeconds seconds to wait for upstream response headers, and the longest silence allowed between
 *     streamed chunks (a stream that keeps flowing is never cut); 1..3600, default 60 ({@code SIDECAR_TIMEOUT},
 *     {@code defaults.timeout_seconds})
 * @param lowPriorityTimeoutSeconds seconds a {@code low} request may wait at the head of the queue; 1..3600,
 *     default 2 ({@code SIDECAR_LOW_TIMEOUT}, {@code defaults.low_priority_timeout_seconds})
 * @param retreat adaptive retreat thresholds of every backend ({@code defaults.retreat})
 */
public record DefaultsConfig(int timeoutSeconds, int lowPriorityTimeoutSeconds, RetreatPolicy retreat) {
  public static final int DEFAULT_TIMEOUT_SECONDS = 60;
  public static final int DEFAULT_LOW_PRIORITY_TIMEOUT_SECONDS = 2;
}
