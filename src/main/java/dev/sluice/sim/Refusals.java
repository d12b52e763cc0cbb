package dev.sluice.sim;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.function.IntFunction;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Server;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server's listening connector, and refusing connections for a while, as a provider that is down: the listening
 * socket closes at once, so a new connection is refused ({@code ECONNREFUSED}); the connections it has are dropped,
 * and the requests in progress on them end without (the rest of) their answers. After the given time, or at
 * {@link #accept()}, a new connector listens on the same port ({@code SO_REUSEADDR}). A new connector rather than
 * the old one restarted: an acceptor thread of the old one may still be leaving when the port reopens, and the
 * interrupt a stop sends it would close the new socket if it reached an accept there. The time passes through the
 * {@link Sleeper}, on a virtual thread of its own, so a test's manual sleeper decides when the port reopens; a new
 * refusal replaces the pending reopening.
 *
 * <p>Thread-safe: state changes are serialized by {@code this}, which is held while a connector closes, stops and
 * starts (a rare operation, never on a request's path), never while the timer sleeps.
 */
final class Refusals implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Refusals.class);
  private static final Duration RETRY_REOPEN = Duration.ofSeconds(1);

  private final Server server;
  private final IntFunction<ListeningConnector> connectors;
  private final Sleeper sleeper;
  private final Pauses pauses;
  private ListeningConnector connector;
  private int port;
  private boolean refusing;
  private boolean closed;
  /** Which refusal the pending timer belongs to; a timer of an older one does nothing. */
  private long generation;
  private Thread timer;

  /**
   * Adds to {@code server} a connector for {@code port} (0 for any free one).
   *
   * @param connectors makes a connector for a port, not yet added to the server
   */
  Refusals(Server server, IntFunction<ListeningConnector> connectors, int port, Sleeper sleeper, Pauses pauses) {
    this.server = server;
    this.connectors = connectors;
    this.sleeper = sleeper;
    this.pauses = pauses;
    this.connector = connectors.apply(port);
    server.addConnector(connector);
  }

  /** Called once the server listens: from now on the port is the one bound, even if 0 was asked for. */
  synchronized void listening() {
    port = connector.getLocalPort();
  }

  /** The port listened on, also while refusing. */
  synchronized int port() {
    return port;
  }

  synchronized boolean refusing() {
    return refusing;
  }

  /**
   * Closes the listening socket and every connection but {@code spared} (the one asking, which gets its answer;
   * null for none), ends the waits of the requests on them, and listens again after {@code duration}.
   *
   * @throws IllegalStateException if the server is closed
   */
  synchronized void refuse(Duration duration, EndPoint spared) {
    if (closed) {
      throw new IllegalStateException("sim: closed");
    }
    if (!refusing) {
      connector.closeListening();
      refusing = true;
    }
    pauses.cutOthers();
    for (EndPoint endPoint : connector.getConnectedEndPoints()) {
      if (endPoint != spared) {
        endPoint.close(new ServerClosing());
      }
    }
    long refusal = ++generation;
    stopTimer();
    timer = Thread.ofVirtual().name("sim-refusal-" + port).start(() -> reopenAfter(duration, refusal));
    LOG.info("sim on port {} refuses connections for {} s", port, duration.toSeconds());
  }

  /**
   * Listens again now, if refusing, and forgets the pending reopening.
   *
   * @throws UncheckedIOException if the port cannot be bound again (the sim still refuses; a later call may work)
   */
  synchronized void accept() {
    generation++;
    stopTimer();
    if (refusing) {
      reopen();
    }
  }

  @Override
  public synchronized void close() {
    closed = true;
    generation++;
    stopTimer();
  }

  private void reopenAfter(Duration duration, long refusal) {
    Duration wait = duration;
    while (true) {
      try {
        sleeper.sleepMillis(wait.toMillis());
      } catch (InterruptedException e) {
        return; // replaced by a later refusal, accepted early, or closed
      }
      synchronized (this) {
        if (refusal != generation || closed) {
          return;
        }
        try {
          reopen();
          timer = null;
          return;
        } catch (UncheckedIOException e) {
          LOG.warn("sim cannot listen on port {} again, trying again in {} s: {}", port, RETRY_REOPEN.toSeconds(),
              e.getMessage());
          wait = RETRY_REOPEN;
        }
      }
    }
  }

  /** Replaces the closed connector with a new one on the same port. */
  private void reopen() {
    ListeningConnector old = connector;
    server.removeConnector(old);
    try {
      old.stop(); // drops what is left: the connection that asked for the refusal, if still open
    } catch (Exception e) {
      LOG.debug("sim: stopping the closed connector failed", e);
    }
    ListeningConnector next = connectors.apply(port);
    server.addConnector(next);
    try {
      next.start();
    } catch (Exception e) {
      server.removeConnector(next);
      throw new UncheckedIOException("sim: cannot listen on port " + port + " again: " + e.getMessage(),
          e instanceof IOException io ? io : new IOException(e));
    }
    connector = next;
    refusing = false;
    LOG.info("sim on port {} accepts connections again", port);
  }

  private void stopTimer() {
    if (timer != null) {
      timer.interrupt();
      timer = null;
    }
  }
}
