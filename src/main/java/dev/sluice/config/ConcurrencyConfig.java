package dev.sluice.config;

/**
 * Per-backend concurrency: {@code fixed} allows at most {@code maxConcurrent} requests in flight (1..100);
 * {@code adaptive} learns the limit from the provider's 429s. Default: fixed, 8.
 */
public record ConcurrencyConfig(Mode mode, int maxConcurrent) {
  public static final int DEFAULT_MAX_CONCURRENT = 8;
  /** The largest {@code max_concurrent} accepted. */
  public static final int MAX_MAX_CONCURRENT = 100;

  /** How the in-flight limit is set. */
  public enum Mode { FIXED, ADAPTIVE }

  public static ConcurrencyConfig defaults() {
    return new ConcurrencyConfig(Mode.FIXED, DEFAULT_MAX_CONCURRENT);
  }
}
