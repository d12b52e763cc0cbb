package dev.sluice.sim;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * An admitted call's place among the {@link Limits}' calls in flight, freed exactly once: when the last bytes of the
 * answer are handed to Jetty, or when the call ends, whichever comes first. Freeing it at the last write means a
 * client that calls again as soon as it has read the answer is never refused by a concurrency limit that has not
 * yet seen the end of the previous call. Thread-safe: the release is a compare-and-set.
 */
final class Slot implements AutoCloseable {
  private final Limits limits;
  private final AtomicBoolean released = new AtomicBoolean();

  Slot(Limits limits) {
    this.limits = limits;
  }

  /** {@code response}, freeing this slot when its last content is written. */
  Response releasedByLastWrite(Request request, Response response) {
    return new Response.Wrapper(request, response) {
      @Override
      public void write(boolean last, ByteBuffer content, Callback callback) {
        if (last) {
          close();
        }
        super.write(last, content, callback);
      }
    };
  }

  /** Frees the slot unless already freed. */
  @Override
  public void close() {
    if (released.compareAndSet(false, true)) {
      limits.release();
    }
  }
}
