package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * Finds what Sluice needs of a JSON request body with one streaming scan: tokens are read and skipped, never built
 * into a tree, and the body bytes are not touched. It reads the top-level {@code model}, {@code stream},
 * {@code max_tokens}, {@code max_completion_tokens} and {@code stream_options}, and remembers where the
 * {@code model} string and {@code stream_options} sit, so that the edits Sluice makes (stripping a provider prefix,
 * asking a stream for its usage) can be spliced in.
 *
 * @param wellFormed the body is one JSON object and nothing else
 * @param model the top-level {@code model} string, or null
 * @param stream the top-level {@code stream} is {@code true}
 * @param modelStart offset of the opening quote of the model value, or -1
 * @param modelEnd offset just past the closing quote of the model value, or -1
 * @param maxTokens the completion tokens the request allows: the larger of {@code max_tokens} and
 *     {@code max_completion_tokens} where each is a non-negative integer (one too large for a long counts as
 *     {@link Long#MAX_VALUE}); -1 when neither is
 * @param streamOptions what the body says about {@code stream_options.include_usage}, and where
 */
record BodyScan(boolean wellFormed, String model, boolean stream, int modelStart, int modelEnd, long maxTokens,
    StreamOptions streamOptions) {
  private static final BodyScan MALFORMED = new BodyScan(false, null, false, -1, -1, -1,
      new StreamOptions(StreamOptions.Kind.UNEDITABLE, -1, -1));
  private static final byte[] STREAM_OPTIONS_FIELD = ascii("\"stream_options\":{\"include_usage\":true},");
  private static final byte[] STREAM_OPTIONS = ascii("{\"include_usage\":true}");
  private static final byte[] INCLUDE_USAGE_FIELD = ascii("\"include_usage\":true,");
  private static final byte[] INCLUDE_USAGE = ascii("\"include_usage\":true");
  private static final byte[] TRUE = ascii("true");

  /**
   * The top-level {@code stream_options} as far as {@code include_usage} goes.
   *
   * @param kind what is there
   * @param start where an edit goes: just past the top-level object's brace ({@code ABSENT}), just past the
   *     {@code stream_options} object's brace ({@code OBJECT}, {@code EMPTY_OBJECT}), or the start of the literal
   *     to replace ({@code NULL}, {@code NOT_ASKED}); -1 otherwise
   * @param end just past the literal to replace; {@code start} for insertions
   */
  record StreamOptions(Kind kind, int start, int end) {
    /** What the body says. */
    enum Kind {
      /** No {@code stream_options}. */
      ABSENT,
      /** {@code "stream_options": null}. */
      NULL,
      /** {@code "stream_options": {}}. */
      EMPTY_OBJECT,
      /** An object with other keys but no {@code include_usage}. */
      OBJECT,
      /** {@code include_usage} is {@code false} or {@code null}. */
      NOT_ASKED,
      /** {@code include_usage} is {@code true}: the caller asked for usage itself. */
      ASKED,
      /** Something Sluice does not edit: {@code stream_options} or {@code include_usage} of another type. */
      UNEDITABLE
    }

    /**
     * The edit that makes {@code stream_options.include_usage} true: insert {@code "stream_options":{...}} into
     * the top-level object, {@code "include_usage":true} into the {@code stream_options} object, or replace a
     * {@code null} or {@code false}. Empty when the caller asked already or the value is of another type.
     */
    Optional<Splice> askForUsage() {
      return switch (kind) {
        case ABSENT -> Optional.of(new Splice(start, start, STREAM_OPTIONS_FIELD));
        case NULL -> Optional.of(new Splice(start, end, STREAM_OPTIONS));
        case EMPTY_OBJECT -> Optional.of(new Splice(start, start, INCLUDE_USAGE));
        case OBJECT -> Optional.of(new Splice(start, start, INCLUDE_USAGE_FIELD));
        case NOT_ASKED -> Optional.of(new Splice(start, end, TRUE));
        case ASKED, UNEDITABLE -> Optional.empty();
      };
    }
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  static BodyScan scan(JsonFactory factory, byte[] body, int length) {
    String model = null;
    boolean stream = false;
    int modelStart = -1;
    int modelEnd = -1;
    long maxTokens = -1;
    long maxCompletionTokens = -1;
    StreamOptions options = null;
    try (JsonParser parser = factory.createParser(body, 0, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return MALFORMED;
      }
      int afterBrace = offset(parser) + 1;
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        switch (name) {
          case "model" -> {
            if (value == JsonToken.VALUE_STRING) {
              modelStart = offset(parser);
              model = parser.getText();
              modelEnd = (int) parser.currentLocation().getByteOffset();
            }
          }
          case "stream" -> stream = value == JsonToken.VALUE_TRUE;
          case "max_tokens" -> maxTokens = tokenCount(parser, value);
          case "max_completion_tokens" -> maxCompletionTokens = tokenCount(parser, value);
          case "stream_options" -> options = streamOptions(parser, value);
          default -> parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return MALFORMED;
      }
      if (options == null) {
        options = new StreamOptions(StreamOptions.Kind.ABSENT, afterBrace, afterBrace);
      }
      return new BodyScan(true, model, stream, modelStart, modelEnd, Math.max(maxTokens, maxCompletionTokens),
          options);
    } catch (IOException | RuntimeException e) {
      return MALFORMED;
    }
  }

  private static int offset(JsonParser parser) {
    return (int) parser.currentTokenLocation().getByteOffset();
  }

  /** A non-negative integer value, saturated at {@link Long#MAX_VALUE}; -1 for any other value (skipped). */
  private static long tokenCount(JsonParser parser, JsonToken value) throws IOException {
    if (value != JsonToken.VALUE_NUMBER_INT) {
      parser.skipChildren();
      return -1;
    }
    if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
      return parser.getBigIntegerValue().signum() > 0 ? Long.MAX_VALUE : -1;
    }
    long count = parser.getLongValue();
    return count >= 0 ? count : -1;
  }

  /** Reads the value of {@code stream_options}, on whose first token the parser is, to its end. */
  private static StreamOptions streamOptions(JsonParser parser, JsonToken value) throws IOException {
    int at = offset(parser);
    if (value == JsonToken.VALUE_NULL) {
      return new StreamOptions(StreamOptions.Kind.NULL, at, at + 4);
    }
    if (value != JsonToken.START_OBJECT) {
      parser.skipChildren();
      return new StreamOptions(StreamOptions.Kind.UNEDITABLE, -1, -1);
    }
    StreamOptions found = null;
    boolean empty = true;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      empty = false;
      String name = parser.currentName();
      JsonToken option = parser.nextToken();
      if (!"include_usage".equals(name)) {
        parser.skipChildren();
        continue;
      }
      int literal = offset(parser);
      found = switch (option) {
        case VALUE_TRUE -> new StreamOptions(StreamOptions.Kind.ASKED, -1, -1);
        case VALUE_FALSE -> new StreamOptions(StreamOptions.Kind.NOT_ASKED, literal, literal + 5);
        case VALUE_NULL -> new StreamOptions(StreamOptions.Kind.NOT_ASKED, literal, literal + 4);
        default -> {
          parser.skipChildren();
          yield new StreamOptions(StreamOptions.Kind.UNEDITABLE, -1, -1);
        }
      };
    }
    if (found != null) {
      return found;
    }
    return new StreamOptions(empty ? StreamOptions.Kind.EMPTY_OBJECT : StreamOptions.Kind.OBJECT, at + 1, at + 1);
  }

  /** Whether a {@code Content-Type} names JSON: {@code application/json} or any {@code +json} type. */
  static boolean isJsonType(String contentType) {
    if (contentType == null) {
      return false;
    }
    String mime = mimeType(contentType);
    return mime.equalsIgnoreCase("application/json") || mime.regionMatches(true, mime.length() - 5, "+json", 0, 5);
  }

  /** The media type of a {@code Content-Type}, without its parameters. */
  static String mimeType(String contentType) {
    int semicolon = contentType.indexOf(';');
    return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).strip();
  }

  /** A parser factory for scanning: no limits that a valid OpenAI request could hit. */
  static JsonFactory newFactory() {
    return JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE)
            .maxNumberLength(Integer.MAX_VALUE).maxNestingDepth(10_000).build())
        .build();
  }
}
