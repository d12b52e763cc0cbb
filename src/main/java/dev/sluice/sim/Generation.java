package dev.sluice.sim;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;

/**
 * One simulated completion, rendered either whole or as server-sent events: a chat completion
 * ({@code chat.completion} / {@code chat.completion.chunk}) or a legacy text completion ({@code text_completion}).
 * The content is {@code completionTokens} words, one word per token and per streamed chunk. Immutable.
 */
final class Generation {
  /** Which endpoint's shape. */
  enum Shape { CHAT, TEXT }

  static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final String[] WORDS = {
    "Sluice", "simulates", "a", "provider", "that", "answers", "every", "request", "with", "steady", "tokens",
    "while", "hidden", "limits", "hold", "back"
  };

  private final Shape shape;
  private final String id;
  private final long createdSeconds;
  private final String quotedModel;
  private final int completionTokens;
  private final String finishReason;
  private final int promptTokens;
  private final boolean includeUsage;

  Generation(Shape shape, long sequence, long createdSeconds, String model, int completionTokens,
      String finishReason, int promptTokens, boolean includeUsage) {
    this.shape = shape;
    this.id = (shape == Shape.CHAT ? "chatcmpl-sim-" : "cmpl-sim-") + sequence;
    this.createdSeconds = createdSeconds;
    this.quotedModel = quote(model);
    this.completionTokens = completionTokens;
    this.finishReason = finishReason;
    this.promptTokens = promptTokens;
    this.includeUsage = includeUsage;
  }

  static String quote(String s) {
    return "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + "\"";
  }

  static String word(int index) {
    return WORDS[index % WORDS.length];
  }

  Shape shape() {
    return shape;
  }

  int completionTokens() {
    return completionTokens;
  }

  /** The non-streamed answer. */
  byte[] body() {
    StringBuilder content = new StringBuilder(completionTokens * 8);
    for (int i = 0; i < completionTokens; i++) {
      content.append(i == 0 ? "" : " ").append(word(i));
    }
    StringBuilder json = header(shape == Shape.CHAT ? "chat.completion" : "text_completion");
    if (shape == Shape.CHAT) {
      json.append("\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"").append(content)
          .append("\"},\"finish_reason\":\"").append(finishReason).append("\"}],");
    } else {
      json.append("\"choices\":[{\"text\":\"").append(content)
          .append("\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"").append(finishReason).append("\"}],");
    }
    return usage(json).append('}').toString().getBytes(StandardCharsets.UTF_8);
  }

  /** The event carrying token {@code index}; the first chat delta also carries the role. */
  byte[] tokenEvent(int index) {
    String text = (index == 0 ? "" : " ") + word(index);
    return event(index == 0 ? "\"role\":\"assistant\",\"content\":\"" + text + "\"" : "\"content\":\"" + text + "\"",
        text, "null");
  }

  /** For a completion without tokens: the chat event that only announces the role. */
  byte[] roleEvent() {
    return event("\"role\":\"assistant\",\"content\":\"\"", "", "null");
  }

  /** The event with an empty delta and the finish reason. */
  byte[] finishEvent() {
    return event("", "", "\"" + finishReason + "\"");
  }

  /** The event with no choices and the usage, sent when {@code stream_options.include_usage} is true. */
  byte[] usageEvent() {
    StringBuilder json = header(chunkObject()).append("\"choices\":[],");
    return sse(usage(json).append('}'));
  }

  boolean includeUsage() {
    return includeUsage;
  }

  private byte[] event(String chatDelta, String text, String finish) {
    StringBuilder json = header(chunkObject());
    if (shape == Shape.CHAT) {
      json.append("\"choices\":[{\"index\":0,\"delta\":{").append(chatDelta).append("},\"finish_reason\":")
          .append(finish).append("}]");
    } else {
      json.append("\"choices\":[{\"text\":\"").append(text).append("\",\"index\":0,\"logprobs\":null,")
          .append("\"finish_reason\":").append(finish).append("}]");
    }
    if (includeUsage) {
      json.append(",\"usage\":null");
    }
    return sse(json.append('}'));
  }

  private String chunkObject() {
    return shape == Shape.CHAT ? "chat.completion.chunk" : "text_completion";
  }

  private StringBuilder header(String object) {
    return new StringBuilder(256).append("{\"id\":\"").append(id).append("\",\"object\":\"").append(object)
        .append("\",\"created\":").append(createdSeconds).append(",\"model\":").append(quotedModel).append(',');
  }

  private StringBuilder usage(StringBuilder json) {
    return json.append("\"usage\":{\"prompt_tokens\":").append(promptTokens).append(",\"completion_tokens\":")
        .append(completionTokens).append(",\"total_tokens\":").append(promptTokens + completionTokens).append('}');
  }

  private static byte[] sse(CharSequence json) {
    return ("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8);
  }
}
