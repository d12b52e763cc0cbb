package dev.sluice.sim;

import java.nio.channels.SelectableChannel;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.eclipse.jetty.io.EofException;

/**
 * Waits out latency and stalls on the request's own virtual thread, through the {@link Sleeper}, and cuts a wait
 * short when the request has to end: its client went away ({@link ClientGone}, noticed by the {@link ClientWatch}
 * from the request's first wait of {@value #WATCHED_PAUSE_MILLIS} ms or more on), the provider drops its connections or the server closes
 * ({@link ServerClosing}). Each request sleeps on its own: timed waits on one shared latch made every timeout walk
 * the latch's queue, so the cost grew with the number of open streams times their tokens.
 *
 * <p>Thread-safe: the requests being handled are a concurrent map keyed by their thread (Jetty runs each on its own
 * virtual thread); whether a request sleeps and why it was cut are guarded by its own lock, and a thread is
 * interrupted only under that lock while it sleeps, so an interrupt never outlives the wait it was meant for;
 * {@code closing} is volatile and only ever set.
 */
final class Pauses {
  /**
   * Shortest wait during which the client is watched. A client that leaves during a shorter one is noticed at the
   * next write, as soon; watching every wait would cost each call two wakeups of the watch's thread.
   */
  static final long WATCHED_PAUSE_MILLIS = 50;

  private final Sleeper sleeper;
  private final ClientWatch watch;
  /** The requests being handled, by thread. */
  private final Map<Thread, Handling> handling = new ConcurrentHashMap<>();
  private volatile boolean closing;

  /** One request being handled. */
  private static final class Handling {
    final Thread thread;
    /** The connection's channel, or null when it is not one the watch can read. */
    final SelectableChannel channel;
    /** Touched by the request's own thread only. */
    ClientWatch.Registration watched;
    /** Guarded by {@code this}. */
    boolean sleeping;
    /** Guarded by {@code this}. */
    EofException cut;

    Handling(Thread thread, SelectableChannel channel) {
      this.thread = thread;
      this.channel = channel;
    }

    synchronized void cut(EofException why) {
      if (cut == null) {
        cut = why;
      }
      if (sleeping) {
        thread.interrupt();
      }
    }

    synchronized void wake() {
      if (sleeping) {
        thread.interrupt();
      }
    }
  }

  Pauses(Sleeper sleeper, ClientWatch watch) {
    this.sleeper = sleeper;
    this.watch = watch;
  }

  /** The calling thread handles a request on {@code channel} (null if unknown) until it calls {@link #end()}. */
  void begin(SelectableChannel channel) {
    Thread self = Thread.currentThread();
    handling.put(self, new Handling(self, channel));
  }

  /** The calling thread's request is over: its client is no longer watched. */
  void end() {
    Handling h = handling.remove(Thread.currentThread());
    if (h != null && h.watched != null) {
      h.watched.close();
    }
  }

  /**
   * Sleeps {@code millis} on this thread; returns at once if {@code millis} is 0 or less.
   *
   * @throws ServerClosing if the server closes or drops this request's connection before or while it waits
   * @throws ClientGone if the client closes its connection before or while this thread waits
   * @throws IllegalStateException if this thread has not called {@link #begin}
   */
  void pause(long millis) throws EofException {
    if (millis <= 0) {
      return;
    }
    Handling h = handling.get(Thread.currentThread());
    if (h == null) {
      throw new IllegalStateException("sim: a pause outside a request");
    }
    if (h.watched == null && h.channel != null && millis >= WATCHED_PAUSE_MILLIS) {
      h.watched = watch.watch(h.channel, () -> h.cut(new ClientGone()));
    }
    synchronized (h) {
      throwIfEnding(h);
      h.sleeping = true;
    }
    try {
      sleeper.sleepMillis(millis);
    } catch (InterruptedException e) {
      // Only a cut or the server closing interrupts a sleeping request; the check below says which.
    } finally {
      synchronized (h) {
        h.sleeping = false;
        // An interrupt meant for this wait may have come after the sleep ended: it must not reach the next one.
        Thread.interrupted();
      }
    }
    synchronized (h) {
      throwIfEnding(h);
    }
  }

  /** Whether the calling thread's request was cut by the provider dropping its connection or closing. */
  boolean droppedByServer() {
    if (closing) {
      return true;
    }
    Handling h = handling.get(Thread.currentThread());
    if (h == null) {
      return false;
    }
    synchronized (h) {
      return h.cut instanceof ServerClosing;
    }
  }

  /** Cuts every request being handled, except the calling thread's, with a {@link ServerClosing}. */
  void cutOthers() {
    Thread self = Thread.currentThread();
    handling.values().stream().filter(h -> h.thread != self).forEach(h -> h.cut(new ServerClosing()));
  }

  /** Ends every wait in progress and every later one with {@link ServerClosing}. */
  void wakeAll() {
    closing = true;
    handling.values().forEach(Handling::wake);
  }

  private void throwIfEnding(Handling h) throws EofException {
    if (closing) {
      throw new ServerClosing();
    }
    if (h.cut != null) {
      throw h.cut;
    }
  }
}
