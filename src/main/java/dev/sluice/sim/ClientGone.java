package dev.sluice.sim;

import org.eclipse.jetty.io.EofException;

/**
 * Ends a request whose client closed its connection while the request waited out a latency or a stall
 * ({@link ClientWatch}): nothing more is sent, the connection is dropped, and the call counts as a client disconnect.
 */
final class ClientGone extends EofException {
  ClientGone() {
    super("the client closed its connection while its answer was pending");
  }
}
