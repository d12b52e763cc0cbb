package dev.sluice.sim;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * A {@link ServerConnector} whose listening socket can be closed for good at once. Closing a socket that a thread
 * is blocked accepting on only signals that thread, and the kernel keeps listening (so a new connection still
 * succeeds) until the thread has left the accept; {@link #closeListening()} returns only after its acceptors have
 * left. Afterwards an acceptor fails at once instead of spinning on the closed socket, and ends.
 *
 * <p>Thread-safe: the count of acceptors inside an accept is guarded by {@code this}.
 */
final class ListeningConnector extends ServerConnector {
  private static final long ACCEPTORS_GONE_MILLIS = 10_000;

  private int accepting;
  private boolean listeningClosed;

  ListeningConnector(Server server, int acceptors, ConnectionFactory factory) {
    super(server, acceptors, -1, factory);
  }

  @Override
  public void accept(int acceptorID) throws IOException {
    synchronized (this) {
      if (listeningClosed) {
        throw new ClosedChannelException();
      }
      accepting++;
    }
    try {
      super.accept(acceptorID);
    } finally {
      synchronized (this) {
        accepting--;
        notifyAll();
      }
    }
  }

  /**
   * Closes the listening socket and waits (at most 10 s) until no acceptor is inside an accept, so that a new
   * connection is refused from the moment this returns. Open connections are left alone.
   */
  void closeListening() {
    synchronized (this) {
      listeningClosed = true;
    }
    close();
    long deadline = System.nanoTime() + ACCEPTORS_GONE_MILLIS * 1_000_000;
    synchronized (this) {
      try {
        while (accepting > 0 && System.nanoTime() < deadline) {
          wait(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
