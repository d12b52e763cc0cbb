package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class BatchingConsoleAppenderTest {
  private final LoggerContext context = new LoggerContext();

  BatchingConsoleAppenderTest() {
    context.setMDCAdapter(new LogbackMDCAdapter());
  }

  private BatchingConsoleAppender appender(OutputStream out, int queueSize, int maxDelayMillis) {
    BatchingConsoleAppender appender = new BatchingConsoleAppender();
    appender.setContext(context);
    appender.setName("test");
    JsonLineEncoder encoder = new JsonLineEncoder();
    encoder.setContext(context);
    appender.setEncoder(encoder);
    appender.setQueueSize(queueSize);
    appender.setMaxDelayMillis(maxDelayMillis);
    appender.setOutputStream(out);
    appender.start();
    assertThat(appender.isStarted()).isTrue();
    return appender;
  }

  private LoggingEvent event(String message) {
    return new LoggingEvent(getClass().getName(), context.getLogger("test"), Level.INFO, message, null, null);
  }

  private static List<String> messages(String output) {
    return output.lines().map(line -> line.replaceAll(".*\"msg\":\"([^\"]*)\".*", "$1")).toList();
  }

  @Test
  void everyLineFromConcurrentThreadsIsWrittenInEachThreadsOrderByStop() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BatchingConsoleAppender appender = appender(out, 100_000, 1);
    int threads = 4;
    int perThread = 5_000;
    CyclicBarrier start = new CyclicBarrier(threads);
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      done.add(pool.submit(() -> {
        start.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < perThread; i++) {
          appender.doAppend(event("t" + thread + "-" + i));
        }
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(30, TimeUnit.SECONDS);
    }
    pool.shutdown();
    appender.stop();

    List<String> lines = messages(out.toString(StandardCharsets.UTF_8));
    assertThat(lines).hasSize(threads * perThread);
    for (int t = 0; t < threads; t++) {
      String prefix = "t" + t + "-";
      List<String> own = lines.stream().filter(line -> line.startsWith(prefix)).toList();
      assertThat(own).hasSize(perThread);
      for (int i = 0; i < perThread; i++) {
        assertThat(own.get(i)).isEqualTo(prefix + i);
      }
    }
  }

  @Test
  void aFullQueueDropsNewEventsAndALaterLineSaysHowMany() throws Exception {
    CountDownLatch writing = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    OutputStream blockingOnce = new OutputStream() {
      @Override
      public void write(int b) {
        captured.write(b);
      }

      @Override
      public void write(byte[] bytes, int offset, int length) {
        writing.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        captured.write(bytes, offset, length);
      }
    };
    BatchingConsoleAppender appender = appender(blockingOnce, 1, 0);
    appender.doAppend(event("first"));
    assertThat(writing.await(10, TimeUnit.SECONDS)).isTrue();
    for (int i = 1; i <= 10; i++) {
      appender.doAppend(event("queued-or-dropped-" + i));
    }
    assertThat(appender.droppedSinceLastReport()).isEqualTo(9);
    release.countDown();
    appender.stop();

    assertThat(messages(captured.toString(StandardCharsets.UTF_8))).containsExactly("first",
        "9 log lines were dropped: the log queue of 1 events was full", "queued-or-dropped-1");
  }

  @Test
  void invalidOptionsKeepTheAppenderStopped() {
    BatchingConsoleAppender appender = new BatchingConsoleAppender();
    appender.setContext(context);
    appender.setEncoder(new JsonLineEncoder());
    appender.setMaxDelayMillis(5_000);
    appender.start();
    assertThat(appender.isStarted()).isFalse();
    assertThat(context.getStatusManager().getCopyOfStatusList())
        .anySatisfy(status -> assertThat(status.getMessage())
            .isEqualTo("maxDelayMillis must be between 0 and 1000, got 5000"));
  }
}
