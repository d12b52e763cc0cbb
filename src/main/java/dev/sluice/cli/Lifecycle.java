package dev.sluice.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;

/** Process-level helpers for the long-running commands: log level, and serving until the JVM is asked to stop. */
final class Lifecycle {
  private Lifecycle() {}

  static void applyLogLevel(String level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level, Level.INFO));
    }
  }

  /** The addresses Sluice listens on, for a message about them: {@code 127.0.0.1:9190 and :9191 (metrics)}. */
  static String listeners(SluiceConfig config) {
    ServerConfig server = config.server();
    return server.host() + ":" + server.port()
        + (server.metricsEnabled() ? " and :" + server.metricsPort() + " (metrics)" : "");
  }

  /** Blocks until Ctrl-C or SIGTERM, then closes {@code resources} in order. */
  static void serveUntilStopped(AutoCloseable... resources) throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    java.lang.Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      for (AutoCloseable resource : resources) {
        try {
          resource.close();
        } catch (Exception e) {
          LoggerFactory.getLogger(Lifecycle.class).warn("error while stopping {}", resource, e);
        }
      }
      if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
        context.stop();
      }
      stopped.countDown();
    }, "sluice-shutdown"));
    stopped.await();
  }
}
