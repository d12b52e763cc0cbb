package dev.sluice.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.eclipse.jetty.io.Content;

/**
 * Reads a request body into one array without blocking, in Jetty's demand-driven style: read until no chunk is
 * available, then demand and return. Stops at {@code maxBytes}. Demand callbacks are serialized by Jetty, so the
 * fields need no guarding.
 */
final class BodyReader implements Runnable {

  /** Receives the body, or learns it was too large or failed. Called exactly once. */
  interface Sink {
    void onBody(byte[] body, int length);

    void onTooLarge();

    void onFailure(Throwable failure);
  }

  private static final int INITIAL_CAPACITY_LIMIT = 64 * 1024;
  private final Content.Source source;
  private final long maxBytes;
  private final Sink sink;
  private byte[] bytes;
  private int length;

  private BodyReader(Content.Source source, long declaredLength, long maxBytes, Sink sink) {
    this.source = source;
    this.maxBytes = maxBytes;
    this.sink = sink;
    // A declared length is a hint, not a promise: never allocate more up front than a typical body needs.
    this.bytes = new byte[(int) Math.min(declaredLength >= 0 ? declaredLength : 1024, INITIAL_CAPACITY_LIMIT)];
  }

  static void read(Content.Source source, long declaredLength, long maxBytes, Sink sink) {
    new BodyReader(source, declaredLength, maxBytes, sink).run();
  }

  @Override
  public void run() {
    while (true) {
      Content.Chunk chunk = source.read();
      if (chunk == null) {
        source.demand(this);
        return;
      }
      if (Content.Chunk.isFailure(chunk)) {
        sink.onFailure(chunk.getFailure());
        return;
      }
      ByteBuffer buffer = chunk.getByteBuffer();
      int n = buffer.remaining();
      if (length + (long) n > maxBytes) {
        chunk.release();
        sink.onTooLarge();
        return;
      }
      if (length + n > bytes.length) {
        bytes = Arrays.copyOf(bytes, (int) Math.min(maxBytes, Math.max(bytes.length * 2L, length + (long) n)));
      }
      buffer.get(bytes, length, n);
      length += n;
      chunk.release();
      if (chunk.isLast()) {
        sink.onBody(bytes, length);
        return;
      }
    }
  }
}
