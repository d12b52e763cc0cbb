package dev.sluice.proxy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.backend.Attempt;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * The attempts Sluice releases its permits with, as the forwarder's debug line reports each one (turned on from
 * when this is made until it is closed): what every backend's limiters learn from.
 */
final class AttemptLog implements AutoCloseable {
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Logger logger = (Logger) LoggerFactory.getLogger(Forwarder.class);
  private final Level levelBefore = logger.getLevel();

  AttemptLog() {
    appender.start();
    logger.addAppender(appender);
    logger.setLevel(Level.DEBUG);
  }

  /** One released attempt: its request, backend, what the request was expected to use, and the attempt. */
  record Released(String requestId, String backend, long estimatedTokens, Attempt attempt) {}

  /** The attempts released so far, in order. */
  List<Released> released() {
    synchronized (appender) {
      return appender.list.stream().filter(line -> "attempt released".equals(line.getMessage()))
          .map(line -> new Released((String) RequestLogCapture.value(line, "request_id"),
              (String) RequestLogCapture.value(line, "backend"),
              (Long) RequestLogCapture.value(line, "estimated_tokens"),
              (Attempt) RequestLogCapture.value(line, "attempt")))
          .toList();
    }
  }

  /** The lines logged at INFO or above. */
  List<String> infoLines() {
    synchronized (appender) {
      return appender.list.stream().filter(line -> line.getLevel().isGreaterOrEqual(Level.INFO))
          .map(ILoggingEvent::getFormattedMessage).toList();
    }
  }

  @Override
  public void close() {
    logger.detachAppender(appender);
    logger.setLevel(levelBefore);
  }
}
