package dev.sluice.limit;

/**
 * What a {@link RetryBudget}'s window holds at one instant: read-only data for status pages and metrics.
 *
 * @param firstAttempts first attempts sent in the window
 * @param retries retries after failures taken from the budget in the window
 */
public record RetryUsage(long firstAttempts, long retries) {}
