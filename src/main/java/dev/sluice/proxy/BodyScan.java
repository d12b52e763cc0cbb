package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;

/**
 * Finds the top-level {@code model} and {@code stream} of a JSON request body with a streaming scan: tokens are
 * read and skipped, never built into a tree, and the body bytes are not touched. Also remembers where the
 * {@code model} string sits, so the one edit Sluice makes (stripping a provider prefix) can splice it.
 *
 * @param wellFormed the body is one JSON object and nothing else
 * @param model the top-level {@code model} string, or null
 * @param stream the top-level {@code stream} is {@code true}
 * @param modelStart offset of the opening quote of the model value, or -1
 * @param modelEnd offset just past the closing quote of the model value, or -1
 */
record BodyScan(boolean wellFormed, String model, boolean stream, int modelStart, int modelEnd) {
  private static final BodyScan MALFORMED = new BodyScan(false, null, false, -1, -1);

  static BodyScan scan(JsonFactory factory, byte[] body, int length) {
    String model = null;
    boolean stream = false;
    int modelStart = -1;
    int modelEnd = -1;
    try (JsonParser parser = factory.createParser(body, 0, length)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return MALFORMED;
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("model".equals(name) && value == JsonToken.VALUE_STRING) {
          modelStart = (int) parser.currentTokenLocation().getByteOffset();
          model = parser.getText();
          modelEnd = (int) parser.currentLocation().getByteOffset();
        } else if ("stream".equals(name)) {
          stream = value == JsonToken.VALUE_TRUE;
        } else {
          parser.skipChildren();
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return MALFORMED;
      }
      return new BodyScan(true, model, stream, modelStart, modelEnd);
    } catch (IOException | RuntimeException e) {
      return MALFORMED;
    }
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
