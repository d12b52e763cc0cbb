package dev.sluice.proxy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.Scheduler;

/**
 * A caller's connection that notices the caller leaving while its request waits.
 *
 * <p>Jetty's HTTP/1.1 server does not read a connection while a request on it is being handled, so a caller that
 * hangs up meanwhile goes unnoticed until Sluice writes to it: a request queued behind a rate limit, or waiting for
 * a slow model's answer, would still be sent and run for nobody, spending the key's quota. While a watch is set
 * (from the moment the request is read until the connection reads again), this end point keeps the socket's read
 * interest; when the socket turns readable and the connection is not reading, it reads what arrived itself. End of
 * stream or a reset means the caller left, and the watch's action runs. Bytes (a pipelined next request) are kept
 * and handed to the connection's next read, so nothing is lost or reordered.
 *
 * <p>A caller that only half-closes (shuts down its sending side) after its request counts as gone, as nginx
 * counts it.
 *
 * <p>Thread-safety: the selector thread reads here while the connection may start reading on another thread; one
 * lock orders the two.
 */
public final class CallerEndPoint extends SocketChannelEndPoint {
  private static final int READ_AHEAD_BYTES = 4096;
  private final ReentrantLock lock = new ReentrantLock();
  private final ManagedSelector selector;
  /** Jetty replaces the key when it moves the channel to a new selector after a select failure. */
  private volatile SelectionKey key;
  /** Runs when the caller is seen leaving; null when not watching. */
  private Runnable onDeparture;
  /** Bytes read while watching, in flush mode, for the connection's next read; null when none. */
  private ByteBuffer readAhead;

  public CallerEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key, Scheduler scheduler) {
    super(channel, selector, key, scheduler);
    this.selector = selector;
    this.key = key;
  }

  @Override
  public void replaceKey(SelectionKey newKey) {
    super.replaceKey(newKey);
    key = newKey;
  }

  /**
   * Watches for the caller leaving until the connection reads again. {@code onDeparture} runs at most once, on the
   * selector thread (with a write completing, on a pool thread if that write's callback may block), and must not
   * block.
   */
  void watchForDeparture(Runnable onDeparture) {
    lock.lock();
    try {
      if (readAhead != null) {
        return; // the caller already sent more: it is there
      }
      this.onDeparture = onDeparture;
    } finally {
      lock.unlock();
    }
    super.needsFillInterest();
  }

  @Override
  public int fill(ByteBuffer buffer) throws IOException {
    lock.lock();
    try {
      onDeparture = null;
      if (readAhead == null) {
        return super.fill(buffer);
      }
      int appended = BufferUtil.append(buffer, readAhead);
      if (!readAhead.hasRemaining()) {
        readAhead = null;
      }
      return appended;
    } finally {
      lock.unlock();
    }
  }

  @Override
  protected void needsFillInterest() {
    boolean buffered;
    lock.lock();
    try {
      buffered = readAhead != null;
    } finally {
      lock.unlock();
    }
    if (buffered) {
      // The bytes are already here and the socket may never turn readable again: report them at once, from the
      // selector thread, as a readable socket would be.
      selector.submit(ignored -> getFillInterest().fillable());
    } else {
      super.needsFillInterest();
    }
  }

  @Override
  public Runnable onSelected() {
    Runnable task = super.onSelected();
    int readyOps = key.readyOps();
    if ((readyOps & SelectionKey.OP_READ) == 0) {
      return task;
    }
    Runnable departed;
    lock.lock();
    try {
      if (onDeparture == null || getFillInterest().isInterested()) {
        return task;
      }
      // Nobody waits to read, so the read half of Jetty's task would do nothing. Jetty counts a task with no
      // reader as one that may block and hands it to a pool thread; only a write waiting to complete is kept.
      task = (readyOps & SelectionKey.OP_WRITE) == 0 ? null : Invocable.from(
          getWriteFlusher().getCallbackInvocationType(), getWriteFlusher()::completeWrite);
      ByteBuffer buffer = BufferUtil.allocate(READ_AHEAD_BYTES);
      int filled = super.fill(buffer);
      if (filled > 0) {
        readAhead = buffer;
        onDeparture = null;
        return task;
      }
      if (filled == 0) {
        super.needsFillInterest(); // woken without data: keep watching
        return task;
      }
      departed = onDeparture;
      onDeparture = null;
    } catch (IOException e) {
      departed = onDeparture;
      onDeparture = null;
    } finally {
      lock.unlock();
    }
    // Declared non-blocking, the departure runs on the selector thread. Handed to the pool, a crowd of callers
    // leaving at once took a thread each: the pool starts one for every task it queues while none is idle.
    return Invocable.combine(task, Invocable.from(Invocable.InvocationType.NON_BLOCKING, departed));
  }
}
