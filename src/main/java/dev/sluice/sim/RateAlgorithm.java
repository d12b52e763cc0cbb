package dev.sluice.sim;

import java.util.Locale;

/** How the simulated provider enforces its requests-per-minute limit. */
public enum RateAlgorithm {
  /** A bucket of {@code burst} requests refilled at {@code rpm / 60} per second. */
  TOKEN_BUCKET,
  /** A log of the requests accepted in the last 60 seconds; at most {@code rpm} of them. */
  SLIDING_WINDOW;

  /**
   * Parses {@code token_bucket}, {@code token-bucket}, {@code TOKEN_BUCKET} (and the same for sliding window).
   *
   * @throws IllegalArgumentException naming {@code sim.rate_algorithm}, the value and the legal names
   */
  public static RateAlgorithm fromName(String name) {
    String normalized = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (RateAlgorithm algorithm : values()) {
      if (algorithm.name().equals(normalized)) {
        return algorithm;
      }
    }
    throw new IllegalArgumentException(
        "sim.rate_algorithm: " + name + " is not one of token_bucket, sliding_window");
  }

  /** The lower-case name used in JSON and on the command line, e.g. {@code token_bucket}. */
  public String jsonName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
