package dev.sluice.observe;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.StackTraceElementProxy;
import ch.qos.logback.core.encoder.EncoderBase;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.slf4j.event.KeyValuePair;

/**
 * Renders a log event as one JSON line: {@code ts}, {@code level}, {@code logger}, {@code msg}, then the event's
 * key-value pairs as top-level fields (numbers and booleans unquoted), then {@code error} with the exception
 * chain if any. Referenced from {@code logback.xml}. Thread-safe: its only state is an immutable cache.
 */
public final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
  private static final byte[] EMPTY = new byte[0];
  /** Racy on purpose: a thread that sees a stale prefix formats its own, and each prefix is immutable. */
  private volatile SecondPrefix lastSecond = new SecondPrefix(Long.MIN_VALUE, "");

  @Override
  public byte[] headerBytes() {
    return EMPTY;
  }

  @Override
  public byte[] footerBytes() {
    return EMPTY;
  }

  @Override
  public byte[] encode(ILoggingEvent event) {
    StringBuilder json = new StringBuilder(256);
    json.append("{\"ts\":\"");
    timestamp(json, event.getTimeStamp());
    json.append('"');
    field(json, "level", event.getLevel().toString());
    field(json, "logger", event.getLoggerName());
    field(json, "msg", event.getFormattedMessage());
    if (event.getKeyValuePairs() != null) {
      for (KeyValuePair pair : event.getKeyValuePairs()) {
        if (pair.value == null) {
          continue;
        }
        if (pair.value instanceof Number || pair.value instanceof Boolean) {
          json.append(",\"");
          quote(json, pair.key);
          json.append("\":").append(pair.value);
        } else {
          field(json, pair.key, String.valueOf(pair.value));
        }
      }
    }
    IThrowableProxy error = event.getThrowableProxy();
    if (error != null) {
      field(json, "error", describe(error));
    }
    return json.append("}\n").toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String describe(IThrowableProxy error) {
    StringBuilder text = new StringBuilder();
    for (IThrowableProxy t = error; t != null; t = t.getCause()) {
      if (t != error) {
        text.append("\ncaused by: ");
      }
      text.append(t.getClassName()).append(": ").append(t.getMessage());
      StackTraceElementProxy[] frames = t.getStackTraceElementProxyArray();
      for (int i = 0; i < Math.min(frames.length, 8); i++) {
        text.append("\n\tat ").append(frames[i].getStackTraceElement());
      }
    }
    return text.toString();
  }

  private static void field(StringBuilder json, String key, String value) {
    json.append(",\"");
    quote(json, key);
    json.append("\":\"");
    quote(json, value);
    json.append('"');
  }

  /** Appends {@code text} escaped for a JSON string; most texts need no escaping and are appended as they are. */
  private static void quote(StringBuilder json, String text) {
    String value = text == null ? "null" : text;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x20 || c == '"' || c == '\\') {
        JsonStringEncoder.getInstance().quoteAsString(value, json);
        return;
      }
    }
    json.append(value);
  }

  /** ISO-8601 UTC with milliseconds; the text up to the second is formatted once per second, not per line. */
  private void timestamp(StringBuilder json, long epochMillis) {
    long second = Math.floorDiv(epochMillis, 1000);
    SecondPrefix prefix = lastSecond;
    if (prefix.second != second) {
      String formatted = Instant.ofEpochSecond(second).toString();
      prefix = new SecondPrefix(second, formatted.substring(0, formatted.length() - 1));
      lastSecond = prefix;
    }
    int millis = (int) Math.floorMod(epochMillis, 1000);
    json.append(prefix.text).append('.').append((char) ('0' + millis / 100)).append((char) ('0' + millis / 10 % 10))
        .append((char) ('0' + millis % 10)).append('Z');
  }

  /** {@code 2026-11-23T15:36:25} for one epoch second. */
  private record SecondPrefix(long second, String text) {}
}
