package dev.sluice.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.eclipse.jetty.io.Content;

/**
 * Reads a request body into one array without blocking, in Jetty's demand-driven style: read until no chunk is
 * available, then demand and return. A body over {@code maxBytes} is read on and dropped, up to
 * {@link #DISCARD_LIMIT}, before the sink hears it was too large: a caller still sending its body would otherwise
 * see the connection reset instead of the 413. Demand callbacks are serialized by Jetty, so the fields need no
 * guarding.
 */
final class BodyReader implements Runnable {

  /** Receives the body, or learns it was too large or failed. Called exactly once. */
  interface Sink {
    void onBody(byte[] body, int length);

    void onTooLarge();

    void onFailure(Throwable failure);
  }

  /** Bytes of an oversized body read and dropped before answering; beyond this the connection is closed on it. */
  static final long DISCARD_LIMIT = 1024 * 1024;
  private static final int INITIAL_CAPACITY_LIMIT = 64 * 1024;
  private final Content.Source source;
  private final long maxBytes;
  private final Sink sink;
  private byte[] bytes;
  private int length;
  private boolean tooLarge;
  private long discarded;

  private BodyReader(Content.Source source, long declaredLength, long maxBytes, Sink sink) {
    this.source = source;
    this.maxBytes = maxBytes;
    this.sink = sink;
    this.tooLarge = declaredLength > maxBytes;
    // A declared length is a hint, not a promise: never allocate more up front than a typical body needs.
    this.bytes = new byte[tooLarge ? 0
        : (int) Math.min(declaredLength >= 0 ? declaredLength : 1024, INITIAL_CAPACITY_LIMIT)];
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
      tooLarge |= length + (long) n > maxBytes;
      if (tooLarge) {
        discarded += n;
        boolean last = chunk.isLast();
        chunk.release();
        if (last || discarded > DISCARD_LIMIT) {
          sink.onTooLarge();
          return;
        }
        continue;
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
