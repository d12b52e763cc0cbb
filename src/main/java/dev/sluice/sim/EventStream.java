package dev.sluice.sim;

import dev.sluice.sim.Generation.Shape;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;

/**
 * Streams a {@link Generation} as server-sent events, paced like a model: the time to first token, then one event per
 * token with the per-token delay between them, then the finish event, the usage event if asked for, and
 * {@code [DONE]}. A stalled stream goes silent half-way through its tokens. Thread-safe: holds only thread-safe
 * collaborators.
 */
final class EventStream {
  private final Stalls stalls;
  private final Pauses pauses;

  EventStream(Stalls stalls, Pauses pauses) {
    this.stalls = stalls;
    this.pauses = pauses;
  }

  void stream(Response response, Generation generation, List<Map.Entry<String, String>> headers,
      long ttftMillis, long perTokenMillis, boolean stall, long stallMillis) throws IOException {
    response.setStatus(200);
    HttpFields.Mutable fields = response.getHeaders();
    fields.put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    fields.put(HttpHeader.CACHE_CONTROL, "no-cache");
    headers.forEach(h -> fields.add(h.getKey(), h.getValue()));
    pauses.pause(ttftMillis);
    int tokens = generation.completionTokens();
    int stallAt = stall ? tokens / 2 : -1;
    if (tokens == 0) {
      if (stallAt == 0) {
        stalls.stallNow(response, stallMillis);
      }
      if (generation.shape() == Shape.CHAT) {
        BlockingWrites.write(response, false, generation.roleEvent());
      }
    }
    for (int i = 0; i < tokens; i++) {
      if (i == stallAt) {
        stalls.stallNow(response, stallMillis);
      } else if (i > 0) {
        pauses.pause(perTokenMillis);
      }
      BlockingWrites.write(response, false, generation.tokenEvent(i));
    }
    BlockingWrites.write(response, false, generation.finishEvent());
    if (generation.includeUsage()) {
      BlockingWrites.write(response, false, generation.usageEvent());
    }
    BlockingWrites.write(response, true, Generation.DONE);
  }
}
