package dev.sluice.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.Iterator;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices a client that closes its connection while its answer is pending. Jetty reads an HTTP/1.1 connection only
 * while it expects a request, so a client that gives up during a latency or a stall would go unnoticed until the
 * next write, holding its concurrency slot all that time. This watch registers the connection's channel for reading
 * with a selector of its own (a channel may be registered with several) and runs the request's callback when the
 * channel becomes readable: end of stream, a reset, or bytes sent before the answer is complete (pipelining, which
 * HTTP clients do not do while they wait; the sim treats it the same way). The callback runs once, on the watch's
 * thread, and must be quick.
 *
 * <p>Thread-safe: one platform thread owns the selector and its keys; {@link #watch} and
 * {@link Registration#close} hand their change to it through a queue and wake it, under a lock that keeps a wakeup
 * from reaching a closed selector.
 */
final class ClientWatch implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClientWatch.class);

  private final Selector selector;
  private final Thread thread;
  private final Queue<Runnable> changes = new ConcurrentLinkedQueue<>();
  /** Guards {@code closed} against a wakeup racing the selector's close. */
  private final Object lock = new Object();
  private volatile boolean closed;

  /** Opens the selector and starts its thread, named {@code name}. */
  ClientWatch(String name) {
    try {
      this.selector = Selector.open();
    } catch (IOException e) {
      throw new UncheckedIOException("sim: cannot open a selector to watch clients: " + e.getMessage(), e);
    }
    this.thread = Thread.ofPlatform().name(name).daemon().start(this::run);
  }

  /**
   * Watches {@code channel} until the registration is closed; {@code onGone} runs at most once, when the channel
   * becomes readable.
   */
  Registration watch(SelectableChannel channel, Runnable onGone) {
    Registration registration = new Registration(onGone);
    change(() -> registration.register(channel));
    return registration;
  }

  /** Stops the thread and closes the selector; registrations still open are dropped without their callbacks. */
  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      selector.wakeup();
    }
  }

  /** Hands {@code change} to the watch's thread; dropped once the watch is closed. */
  private void change(Runnable change) {
    synchronized (lock) {
      // The thread closes the selector only after it sees closed, so it is open here.
      if (closed) {
        return;
      }
      changes.add(change);
      selector.wakeup();
    }
  }

  private void run() {
    try (selector) {
      while (!closed) {
        selector.select();
        for (Runnable change = changes.poll(); change != null; change = changes.poll()) {
          change.run();
        }
        for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
          SelectionKey key = it.next();
          it.remove();
          if (key.isValid()) {
            key.cancel();
            ((Registration) key.attachment()).gone();
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("sim: the watch of waiting clients stopped; a client that goes away is noticed at the next write", e);
    }
  }

  /** One watched channel. */
  final class Registration implements AutoCloseable {
    private final Runnable onGone;
    /** Read and written by the watch's thread only. */
    private SelectionKey key;
    private volatile boolean cancelled;

    private Registration(Runnable onGone) {
      this.onGone = onGone;
    }

    /** Stops watching; the callback does not run after this returns, unless it is running now. */
    @Override
    public void close() {
      cancelled = true;
      change(() -> {
        if (key != null) {
          key.cancel();
        }
      });
    }

    private void register(SelectableChannel channel) {
      if (cancelled || !channel.isOpen()) {
        return;
      }
      try {
        SelectionKey old = channel.keyFor(selector);
        if (old != null && !old.isValid()) {
          selector.selectNow(); // deregisters the key of the connection's previous request
        }
        key = channel.register(selector, SelectionKey.OP_READ, this);
      } catch (ClosedChannelException | CancelledKeyException e) {
        LOG.debug("sim: the connection closed before its client could be watched", e);
      } catch (IOException e) {
        LOG.debug("sim: cannot watch a client", e);
      }
    }

    private void gone() {
      if (!cancelled) {
        onGone.run();
      }
    }
  }
}
