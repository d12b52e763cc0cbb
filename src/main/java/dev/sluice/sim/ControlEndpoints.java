package dev.sluice.sim;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import org.eclipse.jetty.server.Response;

/**
 * The control endpoints: {@code GET /sim/stats}, {@code GET|POST /sim/config} and {@code POST /sim/reset-stats}, in
 * the snake_case JSON of {@link SimJson}. Thread-safe: holds only thread-safe collaborators.
 */
final class ControlEndpoints {
  private final LiveConfig config;
  private final Limits limits;
  private final Counters counters;
  private final ObjectMapper mapper;
  private final SimJson simJson;
  private final Replies replies;

  ControlEndpoints(LiveConfig config, Limits limits, Counters counters, ObjectMapper mapper, Replies replies) {
    this.config = config;
    this.limits = limits;
    this.counters = counters;
    this.mapper = mapper;
    this.simJson = new SimJson(mapper);
    this.replies = replies;
  }

  /** The counters since start or the last reset, with the calls in flight now. */
  SimStats stats() {
    return counters.snapshot(limits.inFlight());
  }

  void answer(String method, String path, Response response, byte[] body) throws IOException {
    switch (method + " " + path) {
      case "GET /sim/stats" -> replies.json(response, 200, json(simJson.stats(stats())), List.of());
      case "GET /sim/config" -> replies.json(response, 200, json(simJson.config(config.current())), List.of());
      case "POST /sim/config" -> patchConfig(response, body);
      case "POST /sim/reset-stats" -> {
        counters.reset();
        replies.json(response, 200, json(simJson.stats(stats())), List.of());
      }
      default -> replies.error(response, 404, "Unknown path " + path + " for " + method
          + "; control endpoints: GET /sim/stats, GET|POST /sim/config, POST /sim/reset-stats",
          "invalid_request_error", "not_found", List.of());
    }
  }

  private void patchConfig(Response response, byte[] body) throws IOException {
    JsonNode patch;
    try {
      patch = mapper.readTree(body);
    } catch (JacksonException e) {
      invalidConfig(response, "sim config: the body is not JSON: " + e.getOriginalMessage());
      return;
    }
    SimConfig next;
    try {
      next = config.patch(patch);
    } catch (IllegalArgumentException e) {
      invalidConfig(response, e.getMessage());
      return;
    }
    replies.json(response, 200, json(simJson.config(next)), List.of());
  }

  private void invalidConfig(Response response, String message) throws IOException {
    replies.error(response, 400, message, "invalid_request_error", "invalid_config", List.of());
  }

  private byte[] json(JsonNode node) throws IOException {
    return mapper.writeValueAsBytes(node);
  }
}
