package dev.sluice.proxy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/** Captures the {@code sluice.request} log lines from when it is made until it is closed. */
final class RequestLogCapture implements AutoCloseable {
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Logger requestLogger = (Logger) LoggerFactory.getLogger("sluice.request");

  RequestLogCapture() {
    appender.start();
    requestLogger.addAppender(appender);
  }

  /** The lines so far. */
  List<ILoggingEvent> lines() {
    synchronized (appender) { // the appender appends under its own lock
      return List.copyOf(appender.list);
    }
  }

  /** The value of {@code key} in a line, or null. */
  static Object value(ILoggingEvent line, String key) {
    return Optional.ofNullable(line.getKeyValuePairs()).orElse(List.of()).stream()
        .filter(pair -> pair.key.equals(key)).map(pair -> pair.value).filter(Objects::nonNull).findFirst()
        .orElse(null);
  }

  @Override
  public void close() {
    requestLogger.detachAppender(appender);
  }
}
