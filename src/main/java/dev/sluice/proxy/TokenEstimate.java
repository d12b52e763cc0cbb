package dev.sluice.proxy;

import dev.sluice.backend.Outcome.Usage;
import java.util.Optional;

/**
 * Sluice's estimate of the tokens a request uses, where the upstream does not say: before sending (what a
 * tokens-per-minute budget reserves) and after an answer that reported no {@code usage} (what it settles to, marked
 * as estimated). One token per {@value #BYTES_PER_TOKEN} bytes, as for English text with the common tokenizers.
 *
 * <ul>
 *   <li>Prompt: the bytes of the request body as sent, rounded up. The JSON around the messages (field names,
 *       quotes, the roles) counts too, so this is generous; it errs on the side of reserving too much.
 *   <li>Completion, from what was relayed: the bytes of the answer's text (see
 *       {@link UsageSniffer#completionEstimate}), rounded up, but at least one token per non-empty piece of text. A
 *       stream sends one token or a few per event, so its count of text events bounds the estimate from below
 *       where text is dense in tokens (Chinese: three bytes a character and about a token each); the byte count
 *       covers providers that send many tokens per event. A stream cut short counts what was relayed.
 * </ul>
 *
 * Stateless.
 */
final class TokenEstimate {
  static final int BYTES_PER_TOKEN = 4;

  private TokenEstimate() {}

  /** The prompt of a body of {@code bodyBytes}. */
  static long promptTokens(long bodyBytes) {
    return (bodyBytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
  }

  /** The completion of {@code textBytes} of answer text in {@code textPieces} non-empty pieces. */
  static long completionTokens(long textBytes, long textPieces) {
    return Math.max(textPieces, (textBytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN);
  }

  /** The estimated usage of a prompt and completion so estimated; empty when both are 0 (nothing to count). */
  static Optional<Usage> usage(long promptTokens, long completionTokens) {
    if (promptTokens == 0 && completionTokens == 0) {
      return Optional.empty();
    }
    return Optional.of(new Usage(promptTokens, completionTokens, promptTokens + completionTokens,
        /* estimated= */ true));
  }
}
