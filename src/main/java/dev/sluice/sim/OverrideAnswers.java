package dev.sluice.sim;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * Acts on a request's {@code X-Sim-*} headers ({@link Overrides}): refuses malformed ones with 400, and answers
 * {@code X-Sim-Status} and the {@code X-Sim-Fault}s that need no admission (500, 503, 429, reset) without consulting
 * the limits. Thread-safe: holds only thread-safe collaborators.
 */
final class OverrideAnswers {
  private final LiveConfig config;
  private final Counters counters;
  private final Pauses pauses;
  private final Replies replies;

  OverrideAnswers(LiveConfig config, Counters counters, Pauses pauses, Replies replies) {
    this.config = config;
    this.counters = counters;
    this.pauses = pauses;
    this.replies = replies;
  }

  /** The request's {@code X-Sim-*} overrides, or null once a malformed one has been answered with 400. */
  Overrides readOrRefuse(Request request, Response response) throws IOException {
    try {
      return Overrides.from(request.getHeaders());
    } catch (IllegalArgumentException e) {
      replies.error(response, 400, e.getMessage(), "invalid_request_error", "invalid_sim_header", List.of());
      return null;
    }
  }

  /**
   * Answers {@code X-Sim-Status} and the {@code X-Sim-Fault}s that need no admission (500, 503, 429, reset), after
   * {@code ttftMillis} except for 429. Returns whether it answered.
   */
  boolean answered(Request request, Response response, Overrides overrides, long ttftMillis) throws IOException {
    if (overrides.status() > 0) {
      int status = overrides.status();
      if (status == 429) {
        forced429(response);
        return true;
      }
      pauses.pause(ttftMillis);
      if (status >= 500) {
        counters.serverErrors.increment();
      }
      replies.error(response, status, "Simulated HTTP " + status + " (X-Sim-Status)",
          status >= 500 ? "server_error" : "invalid_request_error", null, List.of());
      return true;
    }
    if (overrides.fault() == null) {
      return false;
    }
    switch (overrides.fault()) {
      case "500", "503" -> {
        pauses.pause(ttftMillis);
        counters.serverErrors.increment();
        replies.serverError(response, Integer.parseInt(overrides.fault()), List.of());
      }
      case "429" -> forced429(response);
      case "reset" -> {
        pauses.pause(ttftMillis);
        counters.resets.increment();
        throw SimulatedReset.drop(request);
      }
      default -> {
        return false; // the stalls: served normally, stalling half-way or before the headers
      }
    }
    return true;
  }

  private void forced429(Response response) throws IOException {
    counters.rejected(Admission.Verdict.RATE, 429);
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(Map.entry("Retry-After", "1"));
    SimConfig c = config.current();
    if (c.rateHeaders()) {
      if (c.rpm() > 0) {
        headers.add(Map.entry("x-ratelimit-limit-requests", Integer.toString(c.rpm())));
      }
      headers.add(Map.entry("x-ratelimit-remaining-requests", "0"));
      headers.add(Map.entry("x-ratelimit-reset-requests", "1s"));
    }
    replies.error(response, 429, "Rate limit reached for requests (forced by X-Sim-Fault). Please try again in 1s.",
        "requests", "rate_limit_exceeded", headers);
  }
}
