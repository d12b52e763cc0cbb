package dev.sluice.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes log events to standard output from one background thread, many lines per write. A request thread only
 * puts its event on a bounded queue; it never formats, never waits for I/O and, while the writer is busy, never
 * wakes a thread either. Logback's own asynchronous appender signals its worker and writes once per event, which
 * at thousands of requests a second cost more CPU than the proxying itself.
 *
 * <p>When the queue is full, new events are dropped, counted and reported in a later line; nothing waits. When
 * the appender stops (at shutdown), every queued event is written first.
 *
 * <p>Options, set in {@code logback.xml}:
 * <ul>
 *   <li>{@code encoder} (required): renders one event as bytes, e.g. {@link JsonLineEncoder}.
 *   <li>{@code queueSize} (events, default 16384, at least 1): events waiting to be written; beyond it new events
 *       are dropped.
 *   <li>{@code maxDelayMillis} (milliseconds, default 20, 0 to 1000): after a write, how long the writer lets
 *       events gather before the next one. A line waits at most about this long; the first line after a quiet
 *       spell is written at once.
 * </ul>
 */
public final class BatchingConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  private static final int MAX_BATCH_EVENTS = 4096;
  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 16384;
  private int maxDelayMillis = 20;
  private OutputStream out;
  private ArrayBlockingQueue<ILoggingEvent> queue;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean writerIdle;
  private volatile boolean stopping;
  private Thread writer;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setMaxDelayMillis(int maxDelayMillis) {
    this.maxDelayMillis = maxDelayMillis;
  }

  /** Where lines go; standard output unless set before {@link #start()}. */
  public void setOutputStream(OutputStream out) {
    this.out = out;
  }

  /** Events dropped because the queue was full and not yet reported in a line. */
  long droppedSinceLastReport() {
    return dropped.get();
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("BatchingConsoleAppender \"" + name + "\" has no encoder");
      return;
    }
    if (queueSize < 1) {
      addError("queueSize must be at least 1, got " + queueSize);
      return;
    }
    if (maxDelayMillis < 0 || maxDelayMillis > 1000) {
      addError("maxDelayMillis must be between 0 and 1000, got " + maxDelayMillis);
      return;
    }
    if (out == null) {
      out = System.out;
    }
    encoder.start();
    queue = new ArrayBlockingQueue<>(queueSize);
    stopping = false;
    writer = Thread.ofPlatform().daemon().name("sluice-log-writer").start(this::writeUntilStopped);
    super.start();
  }

  @Override
  protected void append(ILoggingEvent event) {
    event.prepareForDeferredProcessing();
    if (!queue.offer(event)) {
      dropped.incrementAndGet();
      return;
    }
    if (writerIdle) {
      LockSupport.unpark(writer);
    }
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    stopping = true;
    LockSupport.unpark(writer);
    try {
      writer.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    encoder.stop();
  }

  private void writeUntilStopped() {
    List<ILoggingEvent> batch = new ArrayList<>(MAX_BATCH_EVENTS);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
    long delayNanos = TimeUnit.MILLISECONDS.toNanos(maxDelayMillis);
    while (true) {
      if (queue.isEmpty()) {
        if (stopping) {
          return;
        }
        // Announce the park before the last look at the queue, so an event offered meanwhile unparks us.
        writerIdle = true;
        if (queue.isEmpty() && !stopping) {
          LockSupport.park(this);
        }
        writerIdle = false;
        continue;
      }
      queue.drainTo(batch, MAX_BATCH_EVENTS);
      write(batch, bytes);
      batch.clear();
      if (!stopping && delayNanos > 0) {
        LockSupport.parkNanos(this, delayNanos);
      }
    }
  }

  private void write(List<ILoggingEvent> batch, ByteArrayOutputStream bytes) {
    bytes.reset();
    long lost = dropped.getAndSet(0);
    if (lost > 0) {
      bytes.writeBytes(encoder.encode(droppedReport(lost)));
    }
    for (ILoggingEvent event : batch) {
      try {
        bytes.writeBytes(encoder.encode(event));
      } catch (RuntimeException e) {
        addError("could not encode a log event", e);
      }
    }
    try {
      bytes.writeTo(out);
      out.flush();
    } catch (IOException e) {
      addError("could not write " + batch.size() + " log lines", e);
    }
  }

  private ILoggingEvent droppedReport(long lost) {
    LoggerContext context = (LoggerContext) getContext();
    return new LoggingEvent(BatchingConsoleAppender.class.getName(), context.getLogger("sluice.log"), Level.WARN,
        lost + " log lines were dropped: the log queue of " + queueSize + " events was full", null, null);
  }
}
