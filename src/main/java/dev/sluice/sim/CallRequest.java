package dev.sluice.sim;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * What a model call asks for, read from its JSON body: the model, whether to stream, and the prompt and completion
 * sizes in tokens. The prompt's size is the sim's own estimate: the characters of text in {@code messages} (their
 * {@code content}, as a string or as parts' {@code text}), {@code prompt} or {@code input}, divided by four and
 * rounded down, at least 1 (a token id in a prompt or input counts as four characters). The completion's size is
 * chosen by {@link CompletionLengths}, never above {@code max_completion_tokens} or, without it,
 * {@code max_tokens}. A value; the input node is never modified.
 *
 * @param endpoint which of the three endpoints was called
 * @param model the model id
 * @param input the embeddings input; null for the other endpoints
 * @param stream whether the answer is streamed (never for embeddings)
 * @param includeUsage whether a stream ends with a usage event ({@code stream_options.include_usage})
 * @param promptTokens the prompt's size, at least 1
 * @param completionTokens the completion's size; 0 for embeddings
 * @param finishReason {@code length} if the completion reached the request's maximum, else {@code stop}
 */
record CallRequest(Endpoint endpoint, String model, JsonNode input, boolean stream, boolean includeUsage,
    int promptTokens, int completionTokens, String finishReason) {

  /** The three OpenAI endpoints that take a model. */
  enum Endpoint { CHAT, TEXT, EMBEDDINGS }

  /**
   * Reads a call's body.
   *
   * @throws IllegalArgumentException with OpenAI's message for a body that is not a JSON object, has no model, or
   *     (for embeddings) no input
   */
  static CallRequest parse(Endpoint endpoint, byte[] body, ObjectMapper mapper, Overrides overrides, SimConfig config,
      CompletionLengths lengths) throws IOException {
    JsonNode root;
    try {
      root = mapper.readTree(body);
    } catch (JacksonException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("We could not parse the JSON body of your request. (HINT: This likely "
          + "means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)");
    }
    JsonNode modelNode = root.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.textValue().isEmpty()) {
      throw new IllegalArgumentException("you must provide a model parameter");
    }
    JsonNode input = endpoint == Endpoint.EMBEDDINGS ? root.get("input") : null;
    if (endpoint == Endpoint.EMBEDDINGS && (input == null || input.isNull())) {
      throw new IllegalArgumentException("'input' is a required property");
    }
    boolean stream = endpoint != Endpoint.EMBEDDINGS && root.path("stream").asBoolean(false);
    int promptTokens = Math.max(1, switch (endpoint) {
      case CHAT -> textLength(root.get("messages"));
      case TEXT -> textLength(root.get("prompt"));
      case EMBEDDINGS -> textLength(input);
    } / 4);
    int completionTokens = 0;
    String finishReason = "stop";
    if (endpoint != Endpoint.EMBEDDINGS) {
      CompletionLengths.Length length = lengths.choose(config, overrides.chunks(), maxTokens(root));
      completionTokens = length.tokens();
      finishReason = length.finishReason();
    }
    return new CallRequest(endpoint, modelNode.textValue(), input, stream,
        root.path("stream_options").path("include_usage").asBoolean(false), promptTokens, completionTokens,
        finishReason);
  }

  /** Prompt and completion: what the call counts against a tokens-per-minute limit. */
  int totalTokens() {
    return promptTokens + completionTokens;
  }

  private static int maxTokens(JsonNode root) {
    for (String field : new String[] {"max_completion_tokens", "max_tokens"}) {
      JsonNode node = root.get(field);
      if (node != null && node.isIntegralNumber() && node.canConvertToInt() && node.intValue() >= 0) {
        return node.intValue();
      }
    }
    return -1;
  }

  /** Characters of text in a prompt, messages or input (strings, content parts, token ids as 4 each). */
  private static int textLength(JsonNode node) {
    if (node == null) {
      return 0;
    }
    if (node.isTextual()) {
      return node.textValue().length();
    }
    if (node.isNumber()) {
      return 4;
    }
    int length = 0;
    if (node.isArray()) {
      for (JsonNode element : node) {
        length += textLength(element);
      }
    } else if (node.isObject()) {
      length += textLength(node.get("content")) + textLength(node.get("text"));
    }
    return length;
  }
}
