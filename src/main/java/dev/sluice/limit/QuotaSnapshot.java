package dev.sluice.limit;

/**
 * A backend's quota guard at one instant (see {@link QuotaGuard}).
 *
 * @param state within quota or exceeded
 * @param windowUsageTokens tokens used in the window
 * @param budgetTokens the budget; 0 for none
 * @param usagePercent window usage as a share of the budget, in percent; 0 without a budget
 * @param thresholdPercent share of the budget at which the guard trips
 * @param windowHours window length in hours (a fraction for a window of minutes)
 * @param capError the provider's quota error holds the backend until a probe succeeds
 * @param capErrorMessage what the provider said, empty when no cap error is active
 * @param probeIntervalMillis the probe interval in force (stretched by a cap error's {@code Retry-After})
 * @param lastProbeMillis when the last probe was let through (wall); 0 before the first
 * @param nextProbeMillis when the next probe may go while exceeded (wall); 0 while within quota
 * @param trips times the guard went from within quota to exceeded since start
 * @param probes probes let through since start
 */
public record QuotaSnapshot(QuotaState state, long windowUsageTokens, long budgetTokens, double usagePercent,
    int thresholdPercent, double windowHours, boolean capError, String capErrorMessage, long probeIntervalMillis,
    long lastProbeMillis, long nextProbeMillis, long trips, long probes) {
  /** The window's length in hours as people and JSON show it: whole when it is ({@code 5}), else a fraction. */
  public Number windowHoursShown() {
    return windowHours == Math.rint(windowHours) ? (Number) (long) windowHours
        : Math.round(windowHours * 10_000) / 10_000.0;
  }
}
