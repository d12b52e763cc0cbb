package dev.sluice.sim;

import java.util.SplittableRandom;

/**
 * Chooses each completion's length by the {@link CompletionMode} in force, never above the request's maximum. The
 * uniform mode's dice are seeded with {@link SimConfig#seed()} (apart from the fault dice, so that a seed gives the
 * same faults whichever mode is in force) and restart when the seed changes. Thread-safe: guarded by {@code this}.
 */
final class CompletionLengths {
  /**
   * One completion's length.
   *
   * @param tokens tokens (streamed chunks, words) in the completion
   * @param finishReason {@code length} when the completion reached the request's maximum, else {@code stop}
   */
  record Length(int tokens, String finishReason) {}

  private long seed;
  private SplittableRandom random;

  CompletionLengths(long seed) {
    reseed(seed);
  }

  /**
   * @param chunks the request's {@code X-Sim-Chunks}, or -1 to let the mode choose
   * @param requestMax the request's {@code max_completion_tokens} or {@code max_tokens}, or -1 when it names none
   */
  synchronized Length choose(SimConfig config, int chunks, int requestMax) {
    if (config.seed() != seed) {
      reseed(config.seed());
    }
    int wanted;
    if (chunks >= 0) {
      wanted = chunks;
    } else {
      wanted = switch (config.completionMode()) {
        case FIXED -> config.completionTokens();
        case MAX_TOKENS -> requestMax >= 0 ? Math.min(requestMax, SimConfig.MAX_COMPLETION_TOKENS)
            : config.completionTokens();
        case UNIFORM -> {
          int bound = requestMax >= 0 ? Math.min(requestMax, SimConfig.MAX_COMPLETION_TOKENS)
              : config.completionTokens();
          yield bound == 0 ? 0 : 1 + random.nextInt(bound);
        }
      };
    }
    int tokens = requestMax >= 0 ? Math.min(wanted, requestMax) : wanted;
    return new Length(tokens, requestMax >= 0 && tokens == requestMax ? "length" : "stop");
  }

  private void reseed(long value) {
    seed = value;
    random = new SplittableRandom(value).split();
  }
}
