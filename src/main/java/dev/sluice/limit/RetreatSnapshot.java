package dev.sluice.limit;

/**
 * What a {@link RetreatController} is doing at one instant; read-only data for status pages and metrics.
 *
 * @param baseRpm the configured rate, requests per minute
 * @param currentRpm the rate in force now, requests per minute
 * @param ratio429 the share of the current rate's answers in the window that were 429, 0..1
 * @param alerts cuts since start whose 429 share was above the alert ratio
 */
public record RetreatSnapshot(RetreatState state, int baseRpm, int currentRpm, double ratio429, long alerts) {}
