package dev.sluice.sim;

import java.io.IOException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Any path under {@code /v1/echo}: the request body back, byte for byte, with its content type and the method in
 * {@code X-Sim-Method}. Honours the {@code X-Sim-*} headers but neither the limits nor the configured faults.
 * Thread-safe: holds only thread-safe collaborators.
 */
final class Echo {
  private final LiveConfig config;
  private final OverrideAnswers overrideAnswers;
  private final Pauses pauses;
  private final Stalls stalls;

  Echo(LiveConfig config, OverrideAnswers overrideAnswers, Pauses pauses, Stalls stalls) {
    this.config = config;
    this.overrideAnswers = overrideAnswers;
    this.pauses = pauses;
    this.stalls = stalls;
  }

  void answer(Request request, Response response, byte[] body) throws IOException {
    Overrides overrides = overrideAnswers.readOrRefuse(request, response);
    if (overrides == null) {
      return;
    }
    long ttftMillis = Math.max(0, overrides.ttftMillis());
    if (overrideAnswers.answered(request, response, overrides, ttftMillis)) {
      return;
    }
    if (Overrides.STALL_FIRST_BYTE.equals(overrides.fault())) {
      stalls.stallBeforeHeaders(config.current().stallMillis());
    }
    pauses.pause(ttftMillis);
    response.setStatus(200);
    String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (contentType != null) {
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    }
    response.getHeaders().put("X-Sim-Method", request.getMethod());
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
    stalls.writeBody(response, body, Overrides.STALL.equals(overrides.fault()), config.current().stallMillis());
  }
}
