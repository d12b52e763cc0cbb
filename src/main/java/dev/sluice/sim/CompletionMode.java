package dev.sluice.sim;

import java.util.Locale;

/**
 * How long the simulated provider's completions are. In every mode a completion is never longer than the request's
 * {@code max_completion_tokens} (or, without it, {@code max_tokens}), and {@code X-Sim-Chunks} on a request replaces
 * the length the mode would choose (still capped by the request's maximum).
 */
public enum CompletionMode {
  /** {@code completion_tokens} tokens, cut to the request's maximum. The default. */
  FIXED,
  /**
   * Exactly the request's maximum, as a model that always runs out of room (at most
   * {@link SimConfig#MAX_COMPLETION_TOKENS}); {@code completion_tokens} when the request names no maximum.
   */
  MAX_TOKENS,
  /**
   * A uniform draw in {@code 1..N}, both ends included, where N is the request's maximum or, without one,
   * {@code completion_tokens} (0 when N is 0); drawn from dice seeded with {@code seed}, one draw per model call in
   * the order calls arrive, whether the limits admit the call or not.
   */
  UNIFORM;

  /**
   * Parses {@code fixed}, {@code max_tokens}, {@code max-tokens}, {@code UNIFORM} and the like.
   *
   * @throws IllegalArgumentException naming {@code sim.completion_mode}, the value and the legal names
   */
  public static CompletionMode fromName(String name) {
    String normalized = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (CompletionMode mode : values()) {
      if (mode.name().equals(normalized)) {
        return mode;
      }
    }
    throw new IllegalArgumentException("sim.completion_mode: " + name + " is not one of fixed, max_tokens, uniform");
  }

  /** The lower-case name used in JSON and on the command line, e.g. {@code max_tokens}. */
  public String jsonName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
