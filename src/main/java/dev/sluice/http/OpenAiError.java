package dev.sluice.http;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * An error Sluice answers itself, in OpenAI's shape: {@code {"error":{"message":..,"type":..,"code":..}}}, with
 * {@code "param"} after them when the error is about one field of the request. The one writer of such errors for
 * the proxy, the status endpoints, the dashboard, the metrics port and the admin API. Messages are written for the
 * caller and never carry a stack trace or a secret.
 *
 * @param status HTTP status
 * @param type OpenAI error type, e.g. {@code invalid_request_error}
 * @param code machine-readable code, e.g. {@code request_too_large}
 * @param message human-readable explanation
 * @param param the request field the error is about, e.g. {@code pools[0].queue_max_size}, if any
 */
public record OpenAiError(int status, String type, String code, String message, Optional<String> param) {

  public OpenAiError(int status, String type, String code, String message) {
    this(status, type, code, message, Optional.empty());
  }

  public static OpenAiError badRequest(String code, String message) {
    return new OpenAiError(400, "invalid_request_error", code, message);
  }

  /** The JSON body. */
  public String json() {
    JsonStringEncoder encoder = JsonStringEncoder.getInstance();
    return "{\"error\":{\"message\":\"" + new String(encoder.quoteAsString(message)) + "\",\"type\":\""
        + new String(encoder.quoteAsString(type)) + "\",\"code\":\"" + new String(encoder.quoteAsString(code))
        + "\"" + param.map(p -> ",\"param\":\"" + new String(encoder.quoteAsString(p)) + "\"").orElse("") + "}}";
  }

  /** Writes this error as the whole response, which must not be committed; returns the body's length in bytes. */
  public int write(Response response, Callback callback) {
    byte[] body = json().getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, ByteBuffer.wrap(body), callback);
    return body.length;
  }
}
