package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * Reads a JSON endpoint on a thread of its own at fixed instants of a run, {@code start + k × period}, from the
 * start until the run has ended and its answers are in (or a bound on the number of readings is reached). A reading
 * that is late because the previous one was slow is taken at once, so readings never pile up. Thread-safety: the
 * readings are kept in a synchronized list; {@link #join} hands out a copy.
 */
final class Sampler {
  private final List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
  private final Thread thread;

  /**
   * Starts reading.
   *
   * @param name the thread's name
   * @param startNanos the run's start ({@link System#nanoTime}); offsets are from it
   * @param periodNanos time between readings
   * @param endNanos the end of sending: no reading after it once {@code drained} is set
   * @param maxSamples readings at most
   * @param drained set when every answer is in (or given up)
   * @param read takes one reading; null when it failed
   */
  Sampler(String name, long startNanos, long periodNanos, long endNanos, long maxSamples, AtomicBoolean drained,
      Supplier<JsonNode> read) {
    this.thread = Thread.ofPlatform().name(name).start(() -> {
      for (long k = 0; k < maxSamples; k++) {
        long at = startNanos + k * periodNanos;
        if (at > endNanos && drained.get()) {
          break;
        }
        parkUntil(at);
        samples.add(new Sample(System.nanoTime() - startNanos, read.get()));
      }
    });
  }

  /** Waits at most {@code timeoutMillis} for the last reading, then returns the readings taken, in order. */
  List<Sample> join(long timeoutMillis) throws InterruptedException {
    thread.join(timeoutMillis);
    synchronized (samples) {
      return new ArrayList<>(samples);
    }
  }

  /** Parks the calling thread until {@code deadlineNanos} ({@link System#nanoTime}); returns at once if past. */
  static void parkUntil(long deadlineNanos) {
    long left;
    while ((left = deadlineNanos - System.nanoTime()) > 0) {
      LockSupport.parkNanos(left);
    }
  }
}
