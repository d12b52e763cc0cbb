package dev.sluice.sim;

import org.eclipse.jetty.io.EofException;

/**
 * Ends a request whose wait (latency or stall) the closing server cut short: the request sends nothing more, and its
 * connection is dropped, so every such caller sees the same thing, a connection closed without (the rest of) an
 * answer.
 */
final class ServerClosing extends EofException {
  ServerClosing() {
    super("the simulated provider is closing");
  }
}
