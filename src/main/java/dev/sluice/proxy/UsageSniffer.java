package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteBufferFeeder;
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

  /** Reads a JSON body incrementally with Jackson's non-blocking parser, tracking depth by hand. */
  static final class Json extends UsageSniffer {
    private final JsonParser parser;
    private final ByteBufferFeeder feeder;
    private int depth;
    private boolean inUsage;
    private String field;
    private long prompt = -1;
    private long completion = -1;
    private long total = -1;
    private boolean broken;

    Json(JsonFactory factory) {
      try {
        parser = factory.createNonBlockingByteBufferParser();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
      feeder = (ByteBufferFeeder) parser.getNonBlockingInputFeeder();
    }

    @Override
    void accept(ByteBuffer chunk) {
      if (broken || !chunk.hasRemaining()) {
        return;
      }
      try {
        feeder.feedInput(chunk.slice());
        JsonToken token;
        while ((token = parser.nextToken()) != null && token != JsonToken.NOT_AVAILABLE) {
          onToken(token);
        }
      } catch (IOException | RuntimeException e) {
        broken = true;
      }
    }

    private void onToken(JsonToken token) throws IOException {
      switch (token) {
        case START_OBJECT, START_ARRAY -> {
          depth++;
          if (depth == 2 && token == JsonToken.START_OBJECT && "usage".equals(field)) {
            inUsage = true;
          }
        }
        case END_OBJECT, END_ARRAY -> {
          if (depth == 2) {
            inUsage = false;
          }
          depth--;
        }
        case FIELD_NAME -> {
          if (depth == 1 || inUsage && depth == 2) {
            field = parser.currentName();
          }
        }
        case VALUE_NUMBER_INT -> {
          if (inUsage && depth == 2) {
            long value = parser.getLongValue();
            switch (field) {
              case "prompt_tokens" -> prompt = value;
              case "completion_tokens" -> completion = value;
              case "total_tokens" -> total = value;
              default -> { }
            }
          }
        }
        default -> { }
      }
    }

    @Override
    Optional<Usage> usage() {
      return UsageSniffer.usage(prompt, completion, total);
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
            long prompt = -1;
            long completion = -1;
            long total = -1;
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
              String field = parser.currentName();
              JsonToken number = parser.nextToken();
              if (number == JsonToken.VALUE_NUMBER_INT) {
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
            UsageSniffer.usage(prompt, completion, total).ifPresent(found -> usage = found);
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

  private static Optional<Usage> usage(long prompt, long completion, long total) {
    if (prompt < 0 && completion < 0 && total < 0) {
      return Optional.empty();
    }
    long p = Math.max(prompt, 0);
    long c = Math.max(completion, 0);
    return Optional.of(new Usage(p, c, total >= 0 ? total : p + c));
  }
}
