package dev.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One admin request as a route sees it: already authenticated, its body read in full. Immutable.
 *
 * @param method the HTTP method
 * @param path the request path, e.g. {@code /api/admin/config}
 * @param pathParams values of the route's {@code {name}} segments
 * @param query the query string's parameters, each with its values in order
 * @param body the request body, empty when there is none
 * @param remoteAddress the caller's address, for the audit log
 */
public record AdminRequest(String method, String path, Map<String, String> pathParams,
    Map<String, List<String>> query, byte[] body, String remoteAddress) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public AdminRequest {
    pathParams = Map.copyOf(pathParams);
    query = Map.copyOf(query);
  }

  /**
   * The body as JSON.
   *
   * @throws AdminException 400 {@code invalid_json} when it is not JSON
   */
  public JsonNode json() {
    try {
      JsonNode node = JSON.readTree(body);
      return node == null ? JSON.missingNode() : node;
    } catch (IOException e) {
      throw new AdminException(400, "invalid_json", "The request body is not valid JSON.");
    }
  }

  /**
   * The one value of the query parameter {@code name}, if given.
   *
   * @throws AdminException 400 {@code invalid_value} when it is given more than once
   */
  public Optional<String> queryParam(String name) {
    List<String> values = query.getOrDefault(name, List.of());
    if (values.size() > 1) {
      throw new AdminException(400, "invalid_value", name + ": is given " + values.size() + " times; give it once",
          name);
    }
    return values.stream().findFirst();
  }
}
