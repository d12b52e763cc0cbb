package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sluice.backend.Outcome.Usage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * Watches response bytes on their way to the caller and picks out the top-level {@code usage} object, from a
 * JSON body or from the {@code data:} events of a stream (where it arrives in the final chunk). On the way it
 * measures the text the answer carried (see {@link #completionEstimate}), for answers that report no usage. It
 * only reads the buffers, never moving their positions, and never alters what is relayed. Not thread-safe: Jetty
 * delivers a response's content serially.
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
    byte[] window = scratch();
    for (int at = chunk.position(), end = chunk.limit(); at < end; ) {
      int n = Math.min(window.length, end - at);
      chunk.get(at, window, 0, n);
      scan(window, 0, n);
      at += n;
    }
  }

  byte[] scratch() {
    if (scratch == null) {
      scratch = new byte[SCRATCH_BYTES];
    }
    return scratch;
  }

  /** Looks at {@code bytes[from, to)}, the next bytes of the body. */
  abstract void scan(byte[] bytes, int from, int to);

  /** The usage seen so far. */
  abstract Optional<Usage> usage();

  /**
   * The completion tokens the answer's text so far amounts to, for an answer without usage: see
   * {@link TokenEstimate#completionTokens}, of the string values of {@code content}, {@code text},
   * {@code arguments} (of tool calls) and {@code reasoning_content} below the top level, as JSON-escaped bytes.
   */
  abstract long completionEstimate();

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

    @Override
    long completionEstimate() {
      return 0;
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

    @Override
    long completionEstimate() {
      return scanner.completionEstimate();
    }
  }

  /**
   * Splits an event stream into lines and follows the JSON of each {@code data:} line for a top-level
   * {@code usage} object, as {@link Json} does for a body. Lines are never copied, and a line whose usage is
   * {@code null} (every chunk of an OpenAI stream that asked for usage) is not parsed at all.
   *
   * <p>It also tells where each event ends (at a blank line; lines end with LF or CRLF) and whether it was the
   * <em>usage event</em>: one whose data is an object with {@code "choices":[]} and a {@code usage} object, which
   * OpenAI-compatible providers send last when asked for {@code stream_options.include_usage}.
   */
  static final class EventStream extends UsageSniffer {
    private static final byte[] DATA = {'d', 'a', 't', 'a', ':'};
    /** Bytes of the current line matched against {@code data:}; {@code DATA.length} once in a data line. */
    private int prefixMatched;
    /** The current line is not a data line: skip it. */
    private boolean skipping;
    /** The current line has a byte other than a carriage return before its end: it does not end an event. */
    private boolean lineHasBytes;
    /** The current line started with a carriage return. */
    private boolean carriageReturn;
    /** A data line of the event in progress was the usage without choices. */
    private boolean eventIsUsage;
    /** Whether the event that ended last was the usage event. */
    private boolean lastEventWasUsage;
    private final UsageScanner scanner;

    EventStream(JsonFactory factory) {
      this.scanner = new UsageScanner(factory);
    }

    @Override
    void scan(byte[] bytes, int from, int to) {
      for (int i = from; i < to; ) {
        i = scanToEventEnd(bytes, i, to);
        if (i < 0) {
          return;
        }
      }
    }

    /**
     * Scans {@code chunk}'s bytes at the absolute indexes {@code [from, to)} up to the end of the event in
     * progress, without moving the buffer's position: returns the index just past the blank line that ends it, or
     * -1 when the event does not end in these bytes (all of them were scanned).
     */
    int scanToEventEnd(ByteBuffer chunk, int from, int to) {
      if (chunk.hasArray()) {
        int offset = chunk.arrayOffset();
        int end = scanToEventEnd(chunk.array(), offset + from, offset + to);
        return end < 0 ? -1 : end - offset;
      }
      byte[] window = scratch();
      for (int at = from; at < to; ) {
        int n = Math.min(window.length, to - at);
        chunk.get(at, window, 0, n);
        int end = scanToEventEnd(window, 0, n);
        if (end >= 0) {
          return at + end;
        }
        at += n;
      }
      return -1;
    }

    /** {@link #scanToEventEnd(ByteBuffer, int, int)} of {@code bytes[from, to)}. */
    private int scanToEventEnd(byte[] bytes, int from, int to) {
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
            return -1;
          }
          endLine();
          i = newline + 1;
          continue;
        }
        byte b = bytes[i];
        if (b == '\n') {
          boolean blank = !lineHasBytes;
          endLine();
          i++;
          if (blank) {
            endEvent();
            return i;
          }
        } else if (b == '\r' && !lineHasBytes && !carriageReturn) {
          carriageReturn = true;
          i++;
        } else {
          lineHasBytes = true;
          if (!carriageReturn && b == DATA[prefixMatched]) {
            prefixMatched++;
            i++;
          } else {
            skipping = true;
          }
        }
      }
      return -1;
    }

    private void endLine() {
      if (prefixMatched == DATA.length && !skipping && scanner.valueIsUsageOnly()) {
        eventIsUsage = true;
      }
      scanner.endValue();
      prefixMatched = 0;
      skipping = false;
      lineHasBytes = false;
      carriageReturn = false;
    }

    private void endEvent() {
      lastEventWasUsage = eventIsUsage;
      eventIsUsage = false;
    }

    /** Whether the event that ended last (see {@link #scanToEventEnd}) was the usage event. */
    boolean lastEventWasUsage() {
      return lastEventWasUsage;
    }

    /**
     * The stream ended: ends the event in progress, which had no blank line after it, and returns whether it was
     * the usage event.
     */
    boolean endOfStream() {
      if (lineHasBytes || prefixMatched > 0 || skipping) {
        endLine();
      }
      endEvent();
      return lastEventWasUsage;
    }

    @Override
    Optional<Usage> usage() {
      return scanner.usage();
    }

    @Override
    long completionEstimate() {
      return scanner.completionEstimate();
    }
  }

  /**
   * Follows JSON bytes with a small state machine (string, escape and nesting depth only) and copies out the
   * value of the top-level {@code usage} key, which it parses once it is complete. Most bytes are inside strings
   * and are skipped by a tight loop that looks only for a quote or a backslash; nothing else is tokenized or
   * copied, which matters on the proxy's hottest path. On the way it notes whether the top-level {@code choices}
   * is an empty array, and measures the string values of the text keys below the top level (see
   * {@link UsageSniffer#completionEstimate}), whose length it takes from where they start and end. Not
   * thread-safe.
   */
  static final class UsageScanner {
    private static final byte[] USAGE = key("usage");
    private static final byte[] CHOICES = key("choices");
    private static final byte[] CONTENT = key("content");
    private static final byte[] TEXT = key("text");
    private static final byte[] ARGUMENTS = key("arguments");
    private static final byte[] REASONING_CONTENT = key("reasoning_content");
    /** The key a string may be is chosen by its first byte. */
    private static final byte[] UNDECIDED = {};
    /** A usage object larger than this is not a usage object; the value is then treated as carrying none. */
    private static final int MAX_USAGE_BYTES = 64 * 1024;
    private final JsonFactory factory;
    private int depth;
    private boolean inString;
    private boolean escaped;
    /** The key the current string may still be, {@link #UNDECIDED} before its first byte, or null. */
    private byte[] key;
    /** Bytes of the current string matched against {@link #key}. */
    private int keyMatched;
    /** The string that ended last was this key, or null. */
    private byte[] lastKey;
    /** The key whose value comes next (its colon was seen), or null. */
    private byte[] valueOf;
    private byte[] captured;
    private int capturedLength;
    private Usage usage;
    /** The current string is the value of a text key, being measured. */
    private boolean measuring;
    /** Bytes of the string being measured, in the chunks before this one. */
    private long measuredBytes;
    private long textBytes;
    private long textStrings;
    /** The top-level {@code choices} just opened: the next token tells whether it is empty. */
    private boolean choicesOpened;
    /** The value in progress has {@code "choices":[]} at its top level. */
    private boolean choicesEmpty;
    /** The value in progress has a {@code usage} object at its top level. */
    private boolean usageObject;

    UsageScanner(JsonFactory factory) {
      this.factory = factory;
    }

    private static byte[] key(String name) {
      return name.getBytes(StandardCharsets.US_ASCII);
    }

    /** The key a string starting with {@code first} at {@code depth} may be, or null. */
    private static byte[] candidate(byte first, int depth) {
      if (depth == 1) {
        return first == 'u' ? USAGE : first == 'c' ? CHOICES : null;
      }
      if (depth < 2) {
        return null;
      }
      return switch (first) {
        case 'c' -> CONTENT;
        case 't' -> TEXT;
        case 'a' -> ARGUMENTS;
        case 'r' -> REASONING_CONTENT;
        default -> null;
      };
    }

    private static boolean isTextKey(byte[] key) {
      return key == CONTENT || key == TEXT || key == ARGUMENTS || key == REASONING_CONTENT;
    }

    void scan(byte[] bytes, int from, int to) {
      int captureFrom = captured != null ? from : -1;
      int measureFrom = measuring ? from : -1;
      int i = from;
      while (i < to) {
        byte b = bytes[i];
        if (inString) {
          if (escaped) {
            escaped = false;
            key = null;
          } else if (key == null && b != '"' && b != '\\') {
            // Inside a string that cannot be a key looked for: only its end matters.
            do {
              i++;
            } while (i < to && (b = bytes[i]) != '"' && b != '\\');
            continue;
          } else if (b == '\\') {
            escaped = true;
          } else if (b == '"') {
            inString = false;
            lastKey = key != null && key != UNDECIDED && keyMatched == key.length ? key : null;
            if (measuring) {
              endMeasure(measuredBytes + i - measureFrom);
              measureFrom = -1;
            }
          } else {
            if (key == UNDECIDED) {
              key = candidate(b, depth);
              keyMatched = 0;
            }
            if (key != null) {
              key = keyMatched < key.length && key[keyMatched] == b ? key : null;
              keyMatched++;
            }
          }
          i++;
          continue;
        }
        if (choicesOpened && b != ' ' && b != '\t' && b != '\n' && b != '\r') {
          choicesOpened = false;
          choicesEmpty |= b == ']';
        }
        switch (b) {
          case ' ', '\t', '\n', '\r' -> { }
          case '"' -> {
            inString = true;
            if (isTextKey(valueOf)) {
              measuring = true;
              measuredBytes = 0;
              measureFrom = i + 1;
              key = null;
            } else {
              key = UNDECIDED;
            }
            valueOf = null;
            lastKey = null;
          }
          case ':' -> {
            valueOf = lastKey;
            lastKey = null;
          }
          case '{', '[' -> {
            if (depth == 1 && b == '{' && valueOf == USAGE) {
              usageObject = true;
              captured = new byte[256];
              capturedLength = 0;
              captureFrom = i;
            } else if (depth == 1 && b == '[' && valueOf == CHOICES) {
              choicesOpened = true;
            }
            valueOf = null;
            lastKey = null;
            depth++;
          }
          case '}', ']' -> {
            depth--;
            if (captured != null && depth == 1) {
              capture(bytes, captureFrom, i + 1);
              captureFrom = -1;
              parseCaptured();
            }
            valueOf = null;
            lastKey = null;
          }
          default -> {
            valueOf = null;
            lastKey = null;
          }
        }
        i++;
      }
      if (captured != null && captureFrom >= 0) {
        capture(bytes, captureFrom, to);
      }
      if (measuring) {
        measuredBytes += to - measureFrom;
      }
    }

    private void endMeasure(long bytes) {
      measuring = false;
      if (bytes > 0) {
        textBytes += bytes;
        textStrings++;
      }
    }

    /** The value ended (an event's line did): the next bytes start a new one. A usage found is kept. */
    void endValue() {
      depth = 0;
      inString = false;
      escaped = false;
      key = null;
      lastKey = null;
      valueOf = null;
      captured = null;
      if (measuring) {
        endMeasure(measuredBytes);
      }
      choicesOpened = false;
      choicesEmpty = false;
      usageObject = false;
    }

    /** Whether the value in progress is the usage without choices: {@code "choices":[]} and a usage object. */
    boolean valueIsUsageOnly() {
      return choicesEmpty && usageObject;
    }

    Optional<Usage> usage() {
      return Optional.ofNullable(usage);
    }

    /** See {@link UsageSniffer#completionEstimate}; a text cut short (the answer broke off) counts as it came. */
    long completionEstimate() {
      boolean partial = measuring && measuredBytes > 0;
      return TokenEstimate.completionTokens(textBytes + (partial ? measuredBytes : 0),
          textStrings + (partial ? 1 : 0));
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
