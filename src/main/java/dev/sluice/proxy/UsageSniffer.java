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
 * JSON body or from the {@code data:} events of a stream (where it arrives in the final chunk). It only reads
 * the buffers, never moving their positions, and never alters what is relayed. Not thread-safe: Jetty delivers a
 * response's content serially.
 */
abstract sealed class UsageSniffer {
  /** Bytes copied at a time out of a direct buffer, which has no array to scan in place. */
  private static final int SCRATCH_BYTES = 512;
  private byte[] scratch;

  /** Looks at one chunk of the response body without moving its position. */
  void accept(ByteBuffer chunk) {
    if (chunk.hasArray()) {
      int offset = chunk.arrayOffset();
      scan(chunk.array(), offset + chunk.position(), offset + chunk.limit());
      return;
    }
    if (scratch == null) {
      scratch = new byte[SCRATCH_BYTES];
    }
    for (int at = chunk.position(), end = chunk.limit(); at < end; ) {
      int n = Math.min(scratch.length, end - at);
      chunk.get(at, scratch, 0, n);
      scan(scratch, 0, n);
      at += n;
    }
  }

  /** Looks at {@code bytes[from, to)}, the next bytes of the body. */
  abstract void scan(byte[] bytes, int from, int to);

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
    void scan(byte[] bytes, int from, int to) {}

    @Override
    Optional<Usage> usage() {
      return Optional.empty();
    }
  }

  /** Follows a JSON body for its top-level {@code usage} object. */
  static final class Json extends UsageSniffer {
    private final UsageScanner scanner;

    Json(JsonFactory factory) {
      this.scanner = new UsageScanner(factory);
    }

    @Override
    void scan(byte[] bytes, int from, int to) {
      scanner.scan(bytes, from, to);
    }

    @Override
    Optional<Usage> usage() {
      return scanner.usage();
    }
  }

  /**
   * Splits an event stream into lines and follows the JSON of each {@code data:} line for a top-level
   * {@code usage} object, as {@link Json} does for a body. Lines are never copied, and a line whose usage is
   * {@code null} (every chunk of an OpenAI stream that asked for usage) is not parsed at all.
   */
  static final class EventStream extends UsageSniffer {
    private static final byte[] DATA = {'d', 'a', 't', 'a', ':'};
    /** Bytes of the current line matched against {@code data:}; {@code DATA.length} once in a data line. */
    private int prefixMatched;
    /** The current line is not a data line: skip it. */
    private boolean skipping;
    private final UsageScanner scanner;

    EventStream(JsonFactory factory) {
      this.scanner = new UsageScanner(factory);
    }

    @Override
    void scan(byte[] bytes, int from, int to) {
      int i = from;
      while (i < to) {
        if (prefixMatched == DATA.length || skipping) {
          int newline = i;
          while (newline < to && bytes[newline] != '\n') {
            newline++;
          }
          if (!skipping) {
            scanner.scan(bytes, i, newline);
          }
          if (newline == to) {
            return;
          }
          endLine();
          i = newline + 1;
        } else if (bytes[i] == '\n') {
          endLine();
          i++;
        } else if (bytes[i] == DATA[prefixMatched]) {
          prefixMatched++;
          i++;
        } else {
          skipping = true;
        }
      }
    }

    private void endLine() {
      scanner.endValue();
      prefixMatched = 0;
      skipping = false;
    }

    @Override
    Optional<Usage> usage() {
      return scanner.usage();
    }
  }

  /**
   * Follows JSON bytes with a small state machine (string, escape and nesting depth only) and copies out the
   * value of the top-level {@code usage} key, which it parses once it is complete. Most bytes are inside strings
   * and are skipped by a tight loop that looks only for a quote or a backslash; nothing else is tokenized or
   * copied, which matters on the proxy's hottest path. Not thread-safe.
   */
  static final class UsageScanner {
    private static final byte[] USAGE = {'u', 's', 'a', 'g', 'e'};
    /** A usage object larger than this is not a usage object; the value is then treated as carrying none. */
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

    UsageScanner(JsonFactory factory) {
      this.factory = factory;
    }

    void scan(byte[] bytes, int from, int to) {
      int captureFrom = captured != null ? from : -1;
      int i = from;
      while (i < to) {
        byte b = bytes[i];
        if (inString) {
          if (escaped) {
            escaped = false;
            keyMatched = -1;
          } else if (keyMatched < 0 && b != '"' && b != '\\') {
            // Inside a string that cannot be the usage key: only its end matters.
            do {
              i++;
            } while (i < to && (b = bytes[i]) != '"' && b != '\\');
            continue;
          } else if (b == '\\') {
            escaped = true;
          } else if (b == '"') {
            inString = false;
            lastStringWasUsage = keyMatched == USAGE.length;
          } else {
            keyMatched = keyMatched < USAGE.length && USAGE[keyMatched] == b ? keyMatched + 1 : -1;
          }
          i++;
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
              captureFrom = i;
            }
            awaitingUsageObject = false;
            lastStringWasUsage = false;
            depth++;
          }
          case '}', ']' -> {
            depth--;
            if (captured != null && depth == 1) {
              capture(bytes, captureFrom, i + 1);
              captureFrom = -1;
              parseCaptured();
            }
            lastStringWasUsage = false;
          }
          default -> {
            awaitingUsageObject = false;
            lastStringWasUsage = false;
          }
        }
        i++;
      }
      if (captured != null && captureFrom >= 0) {
        capture(bytes, captureFrom, to);
      }
    }

    /** The value ended (an event's line did): the next bytes start a new one. A usage found is kept. */
    void endValue() {
      depth = 0;
      inString = false;
      escaped = false;
      keyMatched = -1;
      lastStringWasUsage = false;
      awaitingUsageObject = false;
      captured = null;
    }

    Optional<Usage> usage() {
      return Optional.ofNullable(usage);
    }

    private void capture(byte[] bytes, int from, int to) {
      int n = to - from;
      if (capturedLength + n > MAX_USAGE_BYTES) {
        captured = null;
        return;
      }
      if (capturedLength + n > captured.length) {
        captured = Arrays.copyOf(captured,
            Math.min(MAX_USAGE_BYTES, Math.max(captured.length * 2, capturedLength + n)));
      }
      System.arraycopy(bytes, from, captured, capturedLength, n);
      capturedLength += n;
    }

    private void parseCaptured() {
      if (captured == null) {
        return;
      }
      try (JsonParser parser = factory.createParser(captured, 0, capturedLength)) {
        parser.nextToken();
        readUsageObject(parser).ifPresent(found -> usage = found);
      } catch (IOException | RuntimeException e) {
        // Not a well-formed object: the value carries no usable usage.
      }
      captured = null;
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
