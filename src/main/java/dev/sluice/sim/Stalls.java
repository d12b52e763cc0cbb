package dev.sluice.sim;

import java.io.IOException;
import java.util.Arrays;
import org.eclipse.jetty.server.Response;

/**
 * Writes a whole body, or half of it, a stall (a silence of {@code stallMillis}) and then the rest; stalls a
 * stream between two events; and stalls an answer before its headers. Every stall is counted. Thread-safe: holds only thread-safe collaborators.
 */
final class Stalls {
  private final Counters counters;
  private final Pauses pauses;

  Stalls(Counters counters, Pauses pauses) {
    this.counters = counters;
    this.pauses = pauses;
  }

  /** Writes {@code body} as the last content, cut in two by a stall if {@code stall}. */
  void writeBody(Response response, byte[] body, boolean stall, long stallMillis) throws IOException {
    if (!stall) {
      BlockingWrites.write(response, true, body);
      return;
    }
    int half = body.length / 2;
    BlockingWrites.write(response, false, Arrays.copyOfRange(body, 0, half));
    stallNow(response, stallMillis);
    BlockingWrites.write(response, true, Arrays.copyOfRange(body, half, body.length));
  }

  /** Counts a stall and stays silent for {@code stallMillis}, before anything of the answer is sent. */
  void stallBeforeHeaders(long stallMillis) throws IOException {
    counters.stalls.increment();
    pauses.pause(stallMillis);
  }

  /** Sends the headers (if not yet sent), counts a stall and stays silent for {@code stallMillis}. */
  void stallNow(Response response, long stallMillis) throws IOException {
    if (!response.isCommitted()) {
      BlockingWrites.write(response, false, new byte[0]);
    }
    counters.stalls.increment();
    pauses.pause(stallMillis);
  }
}
