package dev.sluice.config;

/**
 * A token budget over a sliding window.
 *
 * @param budgetTokens tokens allowed per window; 1..10^12
 * @param windowMinutes window length in minutes: {@code window_hours} (1..168, default 5) × 60, or
 *     {@code window_minutes} (1..10080) for a window that is not a whole number of hours
 * @param thresholdPercent share of the budget at which the backend is skipped; 1..100, default 99
 * @param probeIntervalSeconds while exceeded, one probe request every this many seconds; 1..86400, default 300
 */
public record QuotaConfig(long budgetTokens, int windowMinutes, int thresholdPercent, int probeIntervalSeconds) {
  public static final int DEFAULT_WINDOW_HOURS = 5;
  public static final int MAX_WINDOW_HOURS = 168;
  public static final int MAX_WINDOW_MINUTES = MAX_WINDOW_HOURS * 60;
  public static final int DEFAULT_THRESHOLD_PERCENT = 99;
  public static final int DEFAULT_PROBE_INTERVAL_SECONDS = 300;
  public static final int MAX_PROBE_INTERVAL_SECONDS = 86_400;
}
