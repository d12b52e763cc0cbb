package dev.sluice.proxy;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * An error Sluice answers itself, in OpenAI's shape: {@code {"error":{"message":..,"type":..,"code":..}}}.
 * Messages are written for the caller and never carry a stack trace or a secret.
 *
 * @param status HTTP status
 * @param type OpenAI error type, e.g. {@code invalid_request_error}
 * @param code machine-readable code, e.g. {@code request_too_large}
 * @param message human-readable explanation
 */
public record OpenAiError(int status, String type, String code, String message) {

  public static OpenAiError badRequest(String code, String message) {
    return new OpenAiError(400, "invalid_request_error", code, message);
  }

  /** The JSON body. */
  public String json() {
    JsonStringEncoder encoder = JsonStringEncoder.getInstance();
    return "{\"error\":{\"message\":\"" + new String(encoder.quoteAsString(message)) + "\",\"type\":\""
        + new String(encoder.quoteAsString(type)) + "\",\"code\":\"" + new String(encoder.quoteAsString(code))
        + "\"}}";
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
