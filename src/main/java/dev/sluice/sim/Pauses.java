package dev.sluice.sim;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Waits out latency and stalls on the request's own virtual thread, through the {@link Sleeper}, and wakes every
 * waiting request when the server closes. Each request sleeps on its own: timed waits on one shared latch made every
 * timeout walk the latch's queue, so the cost grew with the number of open streams times their tokens.
 *
 * <p>Thread-safe: the waiting threads are a concurrent set; {@code closing} is volatile and only ever set.
 */
final class Pauses {
  private final Sleeper sleeper;
  /** Requests' threads sleeping out a latency or a stall, interrupted when the server closes. */
  private final Set<Thread> pausing = ConcurrentHashMap.newKeySet();
  private volatile boolean closing;

  Pauses(Sleeper sleeper) {
    this.sleeper = sleeper;
  }

  /**
   * Sleeps {@code millis} on this thread; returns at once if {@code millis} is 0 or less.
   *
   * @throws ServerClosing if the server closes before or while this thread waits
   */
  void pause(long millis) throws ServerClosing {
    if (millis <= 0) {
      return;
    }
    Thread self = Thread.currentThread();
    pausing.add(self);
    try {
      // Registered before this check, so a close from now on interrupts the sleep.
      if (closing) {
        throw new ServerClosing();
      }
      sleeper.sleepMillis(millis);
    } catch (InterruptedException e) {
      if (closing) {
        throw new ServerClosing();
      }
      self.interrupt();
    } finally {
      pausing.remove(self);
    }
  }

  /** Ends every wait in progress and every later one with {@link ServerClosing}. */
  void wakeAll() {
    closing = true;
    pausing.forEach(Thread::interrupt);
  }
}
