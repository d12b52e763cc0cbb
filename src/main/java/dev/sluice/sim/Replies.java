package dev.sluice.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;

/**
 * Whole JSON answers: a body with its status, {@code Content-Length} and extra headers, possibly cut by a stall; and
 * OpenAI-shaped errors, {@code {"error":{"message","type","code"}}}. Thread-safe: holds only thread-safe
 * collaborators.
 */
final class Replies {
  private static final String JSON = "application/json";

  private final Stalls stalls;

  Replies(Stalls stalls) {
    this.stalls = stalls;
  }

  void json(Response response, int status, byte[] body, List<Map.Entry<String, String>> headers)
      throws IOException {
    json(response, status, body, headers, false, 0);
  }

  void json(Response response, int status, byte[] body, List<Map.Entry<String, String>> headers, boolean stall,
      long stallMillis) throws IOException {
    response.setStatus(status);
    HttpFields.Mutable fields = response.getHeaders();
    fields.put(HttpHeader.CONTENT_TYPE, JSON);
    fields.put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
    headers.forEach(h -> fields.add(h.getKey(), h.getValue()));
    stalls.writeBody(response, body, stall, stallMillis);
  }

  /** An OpenAI-shaped error; {@code code} may be null. */
  void error(Response response, int status, String message, String type, String code,
      List<Map.Entry<String, String>> headers) throws IOException {
    String json = "{\"error\":{\"message\":" + Generation.quote(message) + ",\"type\":" + Generation.quote(type)
        + ",\"code\":" + (code == null ? "null" : Generation.quote(code)) + "}}";
    json(response, status, json.getBytes(StandardCharsets.UTF_8), headers);
  }

  /**
   * An OpenAI-shaped error with {@code "param":null} between type and code, as OpenAI sends with its 401s and its
   * quota errors: {@code {"error":{"message","type","param":null,"code"}}}.
   */
  void errorWithNullParam(Response response, int status, String message, String type, String code,
      List<Map.Entry<String, String>> headers) throws IOException {
    String json = "{\"error\":{\"message\":" + Generation.quote(message) + ",\"type\":" + Generation.quote(type)
        + ",\"param\":null,\"code\":" + Generation.quote(code) + "}}";
    json(response, status, json.getBytes(StandardCharsets.UTF_8), headers);
  }

  /**
   * OpenAI's answer to a failure on its side, a {@code server_error} with {@code status} (500..599) and the message
   * OpenAI sends with it.
   */
  void serverError(Response response, int status, List<Map.Entry<String, String>> headers) throws IOException {
    error(response, status, switch (status) {
      case 502 -> "Bad gateway.";
      case 503 -> "The server is overloaded or not ready yet.";
      case 504 -> "Gateway timeout.";
      default -> "The server had an error while processing your request. Sorry about that!";
    }, "server_error", null, headers);
  }

  /** A {@code 400 invalid_request_error} without a code, the answer to a request OpenAI would refuse. */
  void invalidRequest(Response response, String message) throws IOException {
    error(response, 400, message, "invalid_request_error", null, List.of());
  }
}
