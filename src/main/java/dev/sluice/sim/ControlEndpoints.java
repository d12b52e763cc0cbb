package dev.sluice.sim;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Response;

/**
 * The control endpoints: {@code GET /sim/stats}, {@code GET|POST /sim/config} (whose body may also carry the
 * command {@code refuse_connections_seconds}, see {@link Refusals}) and {@code POST /sim/reset-stats}, in the
 * snake_case JSON of {@link SimJson}. Thread-safe: holds only thread-safe collaborators.
 */
final class ControlEndpoints {
  private final LiveConfig config;
  private final Limits limits;
  private final Counters counters;
  private final ObjectMapper mapper;
  private final SimJson simJson;
  private final Replies replies;
  private final Refusals refusals;
  private final Clock clock;

  ControlEndpoints(LiveConfig config, Limits limits, Counters counters, ObjectMapper mapper, Replies replies,
      Refusals refusals, Clock clock) {
    this.config = config;
    this.clock = clock;
    this.limits = limits;
    this.counters = counters;
    this.mapper = mapper;
    this.simJson = new SimJson(mapper);
    this.replies = replies;
    this.refusals = refusals;
  }

  /** The counters since start or the last reset, with the calls in flight and the windows' tokens now. */
  SimStats stats() {
    long now = clock.nanoTime();
    return counters.snapshot(limits.inFlight(), limits.tokensLastMinute(now), limits.budgetWindowTokens(now));
  }

  /** Answers a control request that arrived on {@code endPoint}. */
  void answer(String method, String path, Response response, byte[] body, EndPoint endPoint) throws IOException {
    switch (method + " " + path) {
      case "GET /sim/stats" -> replies.json(response, 200, json(simJson.stats(stats())), List.of());
      case "GET /sim/config" -> replies.json(response, 200, json(simJson.config(config.current())), List.of());
      case "POST /sim/config" -> patchConfig(response, body, endPoint);
      case "POST /sim/reset-stats" -> {
        counters.reset();
        replies.json(response, 200, json(simJson.stats(stats())), List.of());
      }
      default -> replies.error(response, 404, "Unknown path " + path + " for " + method
          + "; control endpoints: GET /sim/stats, GET|POST /sim/config, POST /sim/reset-stats",
          "invalid_request_error", "not_found", List.of());
    }
  }

  /**
   * Applies the options of a {@code POST /sim/config} body, all or none, and its {@code refuse_connections_seconds}
   * command: the listening socket and every other connection close before the answer is sent, and the answer
   * closes its own connection.
   */
  private void patchConfig(Response response, byte[] body, EndPoint endPoint) throws IOException {
    JsonNode patch;
    try {
      patch = mapper.readTree(body);
    } catch (JacksonException e) {
      invalidConfig(response, "sim config: the body is not JSON: " + e.getOriginalMessage());
      return;
    }
    SimConfig next;
    long refuseSeconds;
    try {
      refuseSeconds = SimJson.refuseConnectionsSeconds(patch);
      next = config.patch(patch);
    } catch (IllegalArgumentException e) {
      invalidConfig(response, e.getMessage());
      return;
    }
    ObjectNode answer = simJson.config(next);
    if (refuseSeconds > 0) {
      refusals.refuse(Duration.ofSeconds(refuseSeconds), endPoint);
      answer.put(SimJson.REFUSE_CONNECTIONS_SECONDS, refuseSeconds);
      response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
    }
    replies.json(response, 200, json(answer), List.of());
  }

  private void invalidConfig(Response response, String message) throws IOException {
    replies.error(response, 400, message, "invalid_request_error", "invalid_config", List.of());
  }

  private byte[] json(JsonNode node) throws IOException {
    return mapper.writeValueAsBytes(node);
  }
}
