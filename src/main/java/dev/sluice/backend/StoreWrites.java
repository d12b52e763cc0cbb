package dev.sluice.backend;

/**
 * What the state keeper wrote to the state store so far.
 *
 * @param path the store's file, or {@code :memory:} when the state is kept in memory only (nothing is written)
 * @param batches batches written
 * @param failedBatches batches the store refused (kept, and written with a later one)
 * @param lastWriteMillis wall time of the last batch written, ms since the epoch; 0 before the first
 */
public record StoreWrites(String path, long batches, long failedBatches, long lastWriteMillis) {}
