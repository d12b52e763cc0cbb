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
 * chain if any. Referenced from {@code logback.xml}. Thread-safe: stateless.
 */
public final class JsonLineEncoder extends EncoderBase<ILoggingEvent> {
  private static final byte[] EMPTY = new byte[0];

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
    json.append("{\"ts\":\"").append(Instant.ofEpochMilli(event.getTimeStamp())).append('"');
    field(json, "level", event.getLevel().toString());
    field(json, "logger", event.getLoggerName());
    field(json, "msg", event.getFormattedMessage());
    if (event.getKeyValuePairs() != null) {
      for (KeyValuePair pair : event.getKeyValuePairs()) {
        if (pair.value == null) {
          continue;
        }
        if (pair.value instanceof Number || pair.value instanceof Boolean) {
          json.append(",\"").append(quote(pair.key)).append("\":").append(pair.value);
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
    json.append(",\"").append(quote(key)).append("\":\"").append(quote(value)).append('"');
  }

  private static char[] quote(String text) {
    return JsonStringEncoder.getInstance().quoteAsString(text == null ? "null" : text);
  }
}
