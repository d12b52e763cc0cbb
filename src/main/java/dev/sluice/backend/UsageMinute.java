package dev.sluice.backend;

/**
 * Tokens one backend used in one wall-clock minute.
 *
 * @param minute minutes since the epoch ({@code wallMillis / 60_000})
 * @param tokens tokens counted in that minute so far
 */
public record UsageMinute(long minute, long tokens) {}
