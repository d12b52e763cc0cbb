package dev.sluice.sim;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The failure a simulated reset completes the request with, after it has dropped the connection. */
final class SimulatedReset extends EofException {
  private static final Logger LOG = LoggerFactory.getLogger(SimulatedReset.class);

  private SimulatedReset() {
    super("connection reset by the simulated provider");
  }

  /** Drops the connection without an answer: SO_LINGER 0, so the client sees a reset rather than an EOF. */
  static SimulatedReset drop(Request request) {
    EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
    if (endPoint.getTransport() instanceof SocketChannel channel) {
      try {
        channel.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException | UnsupportedOperationException e) {
        LOG.debug("cannot set SO_LINGER before a simulated reset", e);
      }
    }
    SimulatedReset reset = new SimulatedReset();
    endPoint.close(reset);
    return reset;
  }
}
