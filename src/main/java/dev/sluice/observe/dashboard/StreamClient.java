package dev.sluice.observe.dashboard;

import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * One open {@code /api/dashboard/stream} response. Its first frame goes out through {@link #start}; frames offered
 * before that, or while the previous frame is still on its way, are skipped, so that nothing overtakes the first
 * frame and a slow reader costs one frame of memory, never a growing buffer. A failed write (the client went away)
 * ends the stream and removes the client.
 *
 * <p>Thread-safe: {@code this} guards whether the stream has started, whether a write is pending and whether the
 * stream is closed or ended; no lock is held across a write, and write callbacks are non-blocking.
 */
final class StreamClient {
  private final Response response;
  private final Callback done;
  private final Consumer<StreamClient> onGone;
  private boolean started;
  private boolean writing;
  private boolean closed;
  private boolean finished;

  /**
   * @param done completes the response when the stream ends
   * @param onGone told once when the stream has ended, however it ended
   */
  StreamClient(Response response, Callback done, Consumer<StreamClient> onGone) {
    this.response = response;
    this.done = done;
    this.onGone = onGone;
  }

  /** Writes the stream's first frame, unless the stream has already ended. */
  void start(ByteBuffer first) {
    synchronized (this) {
      if (closed) {
        return;
      }
      started = true;
      writing = true;
    }
    write(first);
  }

  /** Writes {@code frame} unless the stream has not started or the previous frame is still being written. */
  boolean offer(ByteBuffer frame) {
    synchronized (this) {
      if (closed || writing || !started) {
        return false;
      }
      writing = true;
    }
    write(frame);
    return true;
  }

  private void write(ByteBuffer frame) {
    response.write(false, frame, Callback.from(Invocable.InvocationType.NON_BLOCKING, this::written, this::fail));
  }

  private void written() {
    boolean finish;
    synchronized (this) {
      writing = false;
      finish = closed && !finished;
      finished |= finish;
    }
    if (finish) {
      done.succeeded();
    }
  }

  /** Ends the stream because the connection failed (write error, idle timeout, client gone). */
  void fail(Throwable failure) {
    synchronized (this) {
      if (finished) {
        return;
      }
      finished = true;
      closed = true;
      writing = false;
    }
    onGone.accept(this);
    done.failed(failure);
  }

  /** Ends the stream normally, once the frame being written (if any) is out. */
  void close() {
    boolean finishNow;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      finishNow = !writing;
      finished |= finishNow;
    }
    onGone.accept(this);
    if (finishNow) {
      done.succeeded();
    }
  }

  /** Whether frames may still be offered: not closed, failed or finished. */
  synchronized boolean open() {
    return !closed;
  }

  /** Whether a frame is on its way; the next offer is skipped until it is out. */
  synchronized boolean writing() {
    return writing;
  }
}
