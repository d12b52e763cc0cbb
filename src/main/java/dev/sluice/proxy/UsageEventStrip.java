package dev.sluice.proxy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.eclipse.jetty.util.BufferUtil;

/**
 * Removes the usage event from a stream whose usage Sluice asked for on the caller's behalf, and lets every other
 * byte through as the upstream sent it. The stream is cut into events by the sniffer that also reads the usage
 * from them ({@link UsageSniffer.EventStream}), so each byte is scanned once.
 *
 * <p>For each upstream chunk, {@link #plan} says what goes to the caller, in order: complete events go as the
 * chunk itself or slices of it (no copy); the start of an event that the chunk does not finish is held (copied)
 * until its end arrives, because only its end tells whether it is the usage event; and the usage event itself is
 * left out.
 * Once it is gone, the rest of the stream passes as it comes. An event that grows beyond
 * {@value #MAX_HELD_BYTES} bytes without ending cannot be the usage event: what was held of it goes on, and so does
 * the rest of it as it arrives. A stream whose lines end with a lone carriage return (which the event-stream format
 * allows and no provider sends) has no event ends that Sluice sees, so it is relayed whole, usage event included.
 *
 * <p>Not thread-safe: one stream's relay uses it, one chunk at a time, and plans the next chunk only after every
 * part of the last one was written (the held bytes of a part in flight are never overwritten: two arrays take
 * turns).
 */
final class UsageEventStrip {
  /** The longest part of an event held back while waiting for its end. */
  static final int MAX_HELD_BYTES = 64 * 1024;
  private final UsageSniffer.EventStream events;
  /** Made when an event first spans two chunks: a stream whose chunks are whole events needs none. */
  private byte[] held = {};
  private byte[] spare = {};
  private int heldLength;
  /** The usage event was removed: the rest passes as it comes. */
  private boolean removed;
  /** The event in progress outgrew the hold and passes as it comes. */
  private boolean passing;
  private final ByteBuffer[] parts = new ByteBuffer[3];
  private int partCount;

  UsageEventStrip(UsageSniffer.EventStream events) {
    this.events = events;
  }

  /**
   * Reads {@code chunk} (without moving its position) and returns how many parts of it go to the caller, to be
   * written in order: {@link #part}{@code (0)} to {@code part(n - 1)}. Parts are slices of the chunk, or held bytes
   * of an event that began in an earlier chunk; 0 when the chunk is held whole or was the usage event.
   */
  int plan(ByteBuffer chunk) {
    partCount = 0;
    int end = chunk.limit();
    int at = chunk.position();
    int forwardFrom = at;
    if (removed) {
      scanRest(chunk, at, end);
      addSlice(chunk, at, end);
      return partCount;
    }
    if (passing || heldLength > 0) {
      int eventEnd = events.scanToEventEnd(chunk, at, end);
      if (passing) {
        if (eventEnd < 0) {
          addSlice(chunk, at, end);
          return partCount;
        }
        passing = false;
        at = eventEnd; // the rest of the event goes with the complete events after it
      } else if (eventEnd < 0) {
        if (heldLength + end - at > MAX_HELD_BYTES) {
          addHeld();
          addSlice(chunk, at, end);
          passing = true;
        } else {
          hold(chunk, at, end);
        }
        return partCount;
      } else if (events.lastEventWasUsage()) {
        heldLength = 0;
        return removedBefore(chunk, eventEnd, end);
      } else {
        if (heldLength + eventEnd - at <= MAX_HELD_BYTES) { // the event's end joins its start: one write
          hold(chunk, at, eventEnd);
          forwardFrom = eventEnd;
        }
        addHeld();
        at = eventEnd;
      }
    }
    while (at < end) {
      int eventEnd = events.scanToEventEnd(chunk, at, end);
      if (eventEnd < 0) {
        break;
      }
      if (events.lastEventWasUsage()) {
        addSlice(chunk, forwardFrom, at);
        return removedBefore(chunk, eventEnd, end);
      }
      at = eventEnd;
    }
    if (at < end && end - at > MAX_HELD_BYTES) {
      passing = true;
      addSlice(chunk, forwardFrom, end);
      return partCount;
    }
    addSlice(chunk, forwardFrom, at);
    if (at < end) {
      hold(chunk, at, end);
    }
    return partCount;
  }

  /** Part {@code index} of the last {@link #plan}. */
  ByteBuffer part(int index) {
    return parts[index];
  }

  /** Whether the usage event was found and removed. */
  boolean removed() {
    return removed;
  }

  /**
   * The stream ended: what is still held goes to the caller, unless it is the usage event (one the upstream did not
   * end with a blank line). Empty when nothing is.
   */
  ByteBuffer endOfStream() {
    if (heldLength == 0) {
      return BufferUtil.EMPTY_BUFFER;
    }
    if (events.endOfStream()) {
      heldLength = 0;
      removed = true;
      return BufferUtil.EMPTY_BUFFER;
    }
    ByteBuffer rest = ByteBuffer.wrap(held, 0, heldLength);
    heldLength = 0;
    return rest;
  }

  /** The usage event ended at {@code eventEnd}: what follows it in the chunk goes. */
  private int removedBefore(ByteBuffer chunk, int eventEnd, int end) {
    removed = true;
    scanRest(chunk, eventEnd, end);
    addSlice(chunk, eventEnd, end);
    return partCount;
  }

  /** Lets the sniffer see bytes that pass unexamined, so that it keeps its place in the stream. */
  private void scanRest(ByteBuffer chunk, int from, int end) {
    for (int at = from; at >= 0 && at < end; ) {
      at = events.scanToEventEnd(chunk, at, end);
    }
  }

  private void addSlice(ByteBuffer chunk, int from, int to) {
    if (to <= from) {
      return;
    }
    // The whole chunk going needs no slice.
    parts[partCount++] = from == chunk.position() && to == chunk.limit() ? chunk : chunk.slice(from, to - from);
  }

  /** Sends what is held; the other array takes the next bytes, so that this one stays as it is until written. */
  private void addHeld() {
    if (heldLength == 0) {
      return;
    }
    parts[partCount++] = ByteBuffer.wrap(held, 0, heldLength);
    byte[] sent = held;
    held = spare;
    spare = sent;
    heldLength = 0;
  }

  private void hold(ByteBuffer chunk, int from, int to) {
    int n = to - from;
    if (heldLength + n > held.length) {
      held = Arrays.copyOf(held, Math.max(heldLength + n, Math.max(512, held.length * 2)));
    }
    chunk.get(from, held, heldLength, n);
    heldLength += n;
  }
}
