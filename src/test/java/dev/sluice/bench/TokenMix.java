package dev.sluice.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.SplittableRandom;

/**
 * The token benchmark's requests: for each, a prompt of {@code promptMin..promptMax} tokens and a {@code max_tokens}
 * of {@code maxTokensMin..maxTokensMax}, both drawn uniformly (bounds included) from a seed, so the same seed always
 * gives the same requests. The simulated provider counts a prompt as its characters / 4, so a prompt of N tokens is
 * sent as 4·N characters; with {@code --completion-mode max_tokens} it answers exactly {@code max_tokens}, so a
 * request's cost to the key is known in advance: prompt + {@code max_tokens}. Immutable, so safe to share.
 */
final class TokenMix {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Four characters: one token to the simulated provider. */
  private static final String TOKEN_TEXT = "tok ";
  /** Keeps these draws apart from the schedule's, which uses the same seed. */
  private static final long SALT = 0x5EED_70C3L;

  private final int[] prompts;
  private final int[] maxTokens;

  private TokenMix(int[] prompts, int[] maxTokens) {
    this.prompts = prompts;
    this.maxTokens = maxTokens;
  }

  /** {@code count} requests drawn from {@code seed}; every minimum must be ≥ 1 and at most its maximum. */
  static TokenMix of(int count, long seed, int promptMin, int promptMax, int maxTokensMin, int maxTokensMax) {
    if (promptMin < 1 || promptMin > promptMax || maxTokensMin < 1 || maxTokensMin > maxTokensMax) {
      throw new IllegalArgumentException("the mix needs 1 <= min <= max: prompt " + promptMin + ".." + promptMax
          + ", max_tokens " + maxTokensMin + ".." + maxTokensMax);
    }
    SplittableRandom random = new SplittableRandom(seed ^ SALT);
    int[] prompts = new int[count];
    int[] maxTokens = new int[count];
    for (int i = 0; i < count; i++) {
      prompts[i] = random.nextInt(promptMin, promptMax + 1);
      maxTokens[i] = random.nextInt(maxTokensMin, maxTokensMax + 1);
    }
    return new TokenMix(prompts, maxTokens);
  }

  /** What a request of such a mix costs on average, prompt + {@code max_tokens}: the two ranges' midpoints. */
  static double meanTokens(int promptMin, int promptMax, int maxTokensMin, int maxTokensMax) {
    return (promptMin + promptMax) / 2.0 + (maxTokensMin + maxTokensMax) / 2.0;
  }

  int count() {
    return prompts.length;
  }

  /** Request {@code i}'s prompt, in the simulated provider's tokens. */
  int promptTokens(int i) {
    return prompts[i];
  }

  /** Request {@code i}'s {@code max_tokens}. */
  int maxTokens(int i) {
    return maxTokens[i];
  }

  /** What request {@code i} costs the key when answered in full: prompt + {@code max_tokens}. */
  long tokens(int i) {
    return (long) prompts[i] + maxTokens[i];
  }

  /** Request {@code i} as a non-streaming chat completion for {@code model}. */
  String body(int i, String model) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.putArray("messages").addObject().put("role", "user").put("content", TOKEN_TEXT.repeat(prompts[i]));
    body.put("max_tokens", maxTokens[i]);
    return body.toString();
  }
}
