package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sluice.backend.Outcome.Usage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;

/**
 * Watches response bytes on their way to the caller and picks out the top-level {@code usage} object, from a
 * JSON body or from the {@code data:} events of a stream (where it arrives in the final chunk). It reads
 * duplicates of the buffers and never alters what is relayed. Not thread-safe: Jetty delivers a response's
 * content serially.
 */
abstract sealed class UsageSniffer {

  /** Looks at one chunk of the response body. Must not move {@code chunk}'s position. */
  abstract void accept(ByteBuffer chunk);

  /** The usage seen so far. */
  abstract Optional<Usage> usage();

  /** A sniffer for a response of this content type; one that ignores the body if it is neither JSON nor SSE. */
  static UsageSniffer forContentType(JsonFactory factory, String contentType) {
    if (contentType == null) {
      return new None();
    }
    if (contentType.regionMatches(true, 0, "text/event-stream", 0, 17)) {
      return new EventStream(factory);
    }
    if (contentType.regionMatches(true, 0, "application/json", 0, 16)) {
      return new Json(factory);
    }
    return new None();
  }

  /** Ignores the body. */
  static final class None extends UsageSniffer {
    @Override
    void accept(ByteBuffer chunk) {}

    @Override
    Optional<Usage> usage() {
      return Optional.empty();
    }
  }

  /**
   * Follows a JSON body byte by byte with a small state machine (string, escape and nesting depth only) and
   * copies out the value of the top-level {@code usage} key, which it parses once it is complete. Most of a body
   * is only looked at, never tokenized or copied, which matters on the proxy's hottest path.
   */
  static final class Json extends UsageSniffer {
    private static final byte[] USAGE = {'u', 's', 'a', 'g', 'e'};
    /** A usage object larger than this is not a usage object; the body is then treated as carrying none. */
    private static final int MAX_USAGE_BYTES = 64 * 1024;
    private final JsonFactory factory;
    private int depth;
    private boolean inString;
    private boolean escaped;
    /** Bytes of the current top-level string matched against {@code usage}; -1 once it cannot match. */
    private int keyMatched = -1;
    private boolean lastStringWasUsage;
    private boolean awaitingUsageObject;
    private byte[] captured;
    private int capturedLength;
    private Usage usage;

    Json(JsonFactory factory) {
      this.factory = factory;
    }

    @Override
    void accept(ByteBuffer chunk) {
      for (int i = chunk.position(), end = chunk.limit(); i < end; i++) {
        byte b = chunk.get(i);
        if (captured != null) {
          capture(b);
        }
        if (inString) {
          if (escaped) {
            escaped = false;
            keyMatched = -1;
          } else if (b == '\\') {
            escaped = true;
          } else if (b == '"') {
            inString = false;
            lastStringWasUsage = keyMatched == USAGE.length;
          } else if (keyMatched >= 0) {
            keyMatched = keyMatched < USAGE.length && USAGE[keyMatched] == b ? keyMatched + 1 : -1;
          }
          continue;
        }
        switch (b) {
          case ' ', '\t', '\n', '\r' -> { }
          case '"' -> {
            inString = true;
            keyMatched = depth == 1 ? 0 : -1;
            awaitingUsageObject = false;
          }
          case ':' -> {
            awaitingUsageObject = depth == 1 && lastStringWasUsage;
            lastStringWasUsage = false;
          }
          case '{', '[' -> {
            if (awaitingUsageObject && b == '{') {
              captured = new byte[256];
              capturedLength = 0;
              capture(b);
            }
            awaitingUsageObject = false;
            lastStringWasUsage = false;
            depth++;
          }
          case '}', ']' -> {
            depth--;
            if (captured != null && depth == 1) {
              parseCaptured();
            }
            lastStringWasUsage = false;
          }
          default -> {
            awaitingUsageObject = false;
            lastStringWasUsage = false;
          }
        }
      }
    }

    private void capture(byte b) {
      if (capturedLength == captured.length) {
        if (captured.length >= MAX_USAGE_BYTES) {
          captured = null;
          return;
        }
        captured = Arrays.copyOf(captured, captured.length * 2);
      }
      captured[capturedLength++] = b;
    }

    private void parseCaptured() {
      try (JsonParser parser = factory.createParser(captured, 0, capturedLength)) {
        parser.nextToken();
        readUsageObject(parser).ifPresent(found -> usage = found);
      } catch (IOException | RuntimeException e) {
        // Not a well-formed object: the body carries no usable usage.
      }
      captured = null;
    }

    @Override
    Optional<Usage> usage() {
      return Optional.ofNullable(usage);
    }
  }

  /** Splits an event stream into lines and parses the {@code data:} lines that mention {@code "usage"}. */
  static final class EventStream extends UsageSniffer {
    private static final int MAX_LINE_BYTES = 1 << 20;
    private static final byte[] DATA = "data:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    private final JsonFactory factory;
    private byte[] line = new byte[256];
    private int lineLength;
    private boolean overflow;
    private Usage usage;

    EventStream(JsonFactory factory) {
      this.factory = factory;
    }

    @Override
    void accept(ByteBuffer chunk) {
      for (int i = chunk.position(), end = chunk.limit(); i < end; i++) {
        byte b = chunk.get(i);
        if (b == '\n') {
          if (!overflow) {
            onLine();
          }
          lineLength = 0;
          overflow = false;
        } else if (!overflow) {
          if (lineLength == line.length) {
            if (line.length >= MAX_LINE_BYTES) {
              overflow = true;
              continue;
            }
            line = Arrays.copyOf(line, line.length * 2);
          }
          line[lineLength++] = b;
        }
      }
    }

    private void onLine() {
      if (lineLength < DATA.length || !Arrays.equals(line, 0, DATA.length, DATA, 0, DATA.length)
          || indexOf(line, lineLength, USAGE) < 0) {
        return;
      }
      try (JsonParser parser = factory.createParser(line, DATA.length, lineLength - DATA.length)) {
        if (parser.nextToken() != JsonToken.START_OBJECT) {
          return;
        }
        while (parser.nextToken() == JsonToken.FIELD_NAME) {
          String name = parser.currentName();
          JsonToken value = parser.nextToken();
          if ("usage".equals(name) && value == JsonToken.START_OBJECT) {
            readUsageObject(parser).ifPresent(found -> usage = found);
            return;
          }
          parser.skipChildren();
        }
      } catch (IOException | RuntimeException e) {
        // A malformed event is relayed as is; it just carries no usage.
      }
    }

    private static int indexOf(byte[] haystack, int length, byte[] needle) {
      outer:
      for (int i = 0; i + needle.length <= length; i++) {
        for (int j = 0; j < needle.length; j++) {
          if (haystack[i + j] != needle[j]) {
            continue outer;
          }
        }
        return i;
      }
      return -1;
    }

    @Override
    Optional<Usage> usage() {
      return Optional.ofNullable(usage);
    }
  }

  /** Reads the token counts of a usage object whose opening brace the parser is on, up to its closing brace. */
  private static Optional<Usage> readUsageObject(JsonParser parser) throws IOException {
    long prompt = -1;
    long completion = -1;
    long total = -1;
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String field = parser.currentName();
      if (parser.nextToken() == JsonToken.VALUE_NUMBER_INT) {
        switch (field) {
          case "prompt_tokens" -> prompt = parser.getLongValue();
          case "completion_tokens" -> completion = parser.getLongValue();
          case "total_tokens" -> total = parser.getLongValue();
          default -> { }
        }
      } else {
        parser.skipChildren();
      }
    }
    return usage(prompt, completion, total);
  }

  private static Optional<Usage> usage(long prompt, long completion, long total) {
    if (prompt < 0 && completion < 0 && total < 0) {
      return Optional.empty();
    }
    long p = Math.max(prompt, 0);
    long c = Math.max(completion, 0);
    return Optional.of(new Usage(p, c, total >= 0 ? total : p + c));
  }
}
