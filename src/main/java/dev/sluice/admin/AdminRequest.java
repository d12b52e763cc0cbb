package dev.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;

/**
 * One admin request as a route sees it: already authenticated, its body read in full. Immutable.
 *
 * @param method the HTTP method
 * @param path the request path, e.g. {@code /api/admin/config}
 * @param pathParams values of the route's {@code {name}} segments
 * @param body the request body, empty when there is none
 * @param remoteAddress the caller's address, for the audit log
 */
public record AdminRequest(String method, String path, Map<String, String> pathParams, byte[] body,
    String remoteAddress) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public AdminRequest {
    pathParams = Map.copyOf(pathParams);
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
}
