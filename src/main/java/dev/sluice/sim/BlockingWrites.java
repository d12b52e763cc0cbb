package dev.sluice.sim;

import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;

/** Writes that block the request's virtual thread until Jetty has flushed them. Stateless. */
final class BlockingWrites {
  private BlockingWrites() {}

  static void write(Response response, boolean last, byte[] bytes) throws IOException {
    try (Blocker.Callback callback = Blocker.callback()) {
      response.write(last, ByteBuffer.wrap(bytes), callback);
      callback.block();
    }
  }
}
