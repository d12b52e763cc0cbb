package dev.sluice.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.eclipse.jetty.server.Response;

/**
 * {@code GET /v1/models} and {@code GET /v1/models/{id}}: the configured model ids, each owned by the part of its id
 * before the first slash ({@code sim} when there is none). Thread-safe: reads the live config.
 */
final class ModelCatalog {
  private static final long MODELS_CREATED_EPOCH_SECONDS = 1_735_689_600L; // 2025-01-01T00:00:00Z

  private final LiveConfig config;
  private final Replies replies;

  ModelCatalog(LiveConfig config, Replies replies) {
    this.config = config;
    this.replies = replies;
  }

  void list(Response response) throws IOException {
    List<String> models = config.current().models();
    StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < models.size(); i++) {
      json.append(i == 0 ? "" : ",").append(modelJson(models.get(i)));
    }
    replies.json(response, 200, json.append("]}").toString().getBytes(StandardCharsets.UTF_8), List.of());
  }

  void one(String id, Response response) throws IOException {
    if (config.current().models().contains(id)) {
      replies.json(response, 200, modelJson(id).getBytes(StandardCharsets.UTF_8), List.of());
    } else {
      replies.error(response, 404, "The model '" + id + "' does not exist", "invalid_request_error",
          "model_not_found", List.of());
    }
  }

  private static String modelJson(String id) {
    int slash = id.indexOf('/');
    String owner = slash > 0 ? id.substring(0, slash) : "sim";
    return "{\"id\":" + Generation.quote(id) + ",\"object\":\"model\",\"created\":" + MODELS_CREATED_EPOCH_SECONDS
        + ",\"owned_by\":" + Generation.quote(owner) + "}";
  }
}
