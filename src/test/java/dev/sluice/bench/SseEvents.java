package dev.sluice.bench;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Splits a server-sent-event byte stream into events (blank-line separated, {@code \r} ignored) and classifies
 * each: {@code data: [DONE]}, a data event carrying non-empty {@code "content"}, or another data event. Feed it
 * the bytes as they arrive; each completed event is reported to the {@link Listener} during that {@link #feed}
 * call, so the caller timestamps events by the arrival of the bytes that end them.
 *
 * <p>Thread-safety: none; one instance per stream, fed by one thread at a time.
 */
final class SseEvents {
  /** What a completed event was. */
  enum Kind { CONTENT, DONE, OTHER_DATA, NO_DATA }

  interface Listener {
    void onEvent(Kind kind);
  }

  private static final byte[] CONTENT_KEY = "\"content\":\"".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] DONE = "[DONE]".getBytes(StandardCharsets.US_ASCII);

  private final Listener listener;
  private byte[] event = new byte[512];
  private int length;
  private boolean lastWasNewline;

  SseEvents(Listener listener) {
    this.listener = listener;
  }

  void feed(ByteBuffer bytes) {
    while (bytes.hasRemaining()) {
      byte b = bytes.get();
      if (b == '\r') {
        continue;
      }
      if (b == '\n' && lastWasNewline) {
        listener.onEvent(classify());
        length = 0;
        lastWasNewline = false;
        continue;
      }
      lastWasNewline = b == '\n';
      if (length == event.length) {
        byte[] bigger = new byte[event.length * 2];
        System.arraycopy(event, 0, bigger, 0, length);
        event = bigger;
      }
      event[length++] = b;
    }
  }

  /** Classifies the buffered event: its data lines' payload, looked at without a JSON parse. */
  private Kind classify() {
    int lineStart = 0;
    boolean sawData = false;
    for (int i = 0; i <= length; i++) {
      if (i == length || event[i] == '\n') {
        if (startsWith(lineStart, i, "data:")) {
          sawData = true;
          int payload = lineStart + 5;
          while (payload < i && event[payload] == ' ') {
            payload++;
          }
          if (i - payload == DONE.length && regionEquals(payload, DONE)) {
            return Kind.DONE;
          }
          if (hasContent(payload, i)) {
            return Kind.CONTENT;
          }
        }
        lineStart = i + 1;
      }
    }
    return sawData ? Kind.OTHER_DATA : Kind.NO_DATA;
  }

  private boolean hasContent(int from, int to) {
    for (int i = from; i + CONTENT_KEY.length < to; i++) {
      if (regionEquals(i, CONTENT_KEY)) {
        return event[i + CONTENT_KEY.length] != '"';
      }
    }
    return false;
  }

  private boolean startsWith(int from, int to, String prefix) {
    if (to - from < prefix.length()) {
      return false;
    }
    for (int i = 0; i < prefix.length(); i++) {
      if (event[from + i] != prefix.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  private boolean regionEquals(int from, byte[] expected) {
    for (int i = 0; i < expected.length; i++) {
      if (event[from + i] != expected[i]) {
        return false;
      }
    }
    return true;
  }
}
