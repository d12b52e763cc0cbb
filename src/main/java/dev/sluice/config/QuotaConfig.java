package dev.sluice.config;

/**
 * A token budget over a sliding window.
 *
 * @param budgetTokens tokens allowed per window; 1..10^12
 * @param windowHours window length in hours; 1..168, default 5
 * @param thresholdPercent share of the budget at which the backend is skipped; 1..100, default 99
 * @param probeIntervalSeconds while exceeded, one probe request every this many seconds; 1..86400, default 300
 */
public record QuotaConfig(long budgetTokens, int windowHours, int thresholdPercent, int probeIntervalSeconds) {
  public static final int DEFAULT_WINDOW_HOURS = 5;
  public static final int MAX_WINDOW_HOURS = 168;
  public static final int DEFAULT_THRESHOLD_PERCENT = 99;
  public static final int DEFAULT_PROBE_INTERVAL_SECONDS = 300;
  public static final int MAX_PROBE_INTERVAL_SECONDS = 86_400;
}
