package dev.sluice.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Writes a document (maps, lists, records) as a whole JSON answer, for Sluice's own endpoints. Thread-safe: the
 * mapper is configured once and only used to write.
 */
public final class JsonAnswer {
  private final ObjectMapper json = new ObjectMapper();

  /** Writes {@code body} with {@code status}; a document that cannot be serialized fails the callback. */
  public void write(Response response, Callback callback, int status, Object body) {
    byte[] bytes;
    try {
      bytes = json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      callback.failed(e);
      return;
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }
}
