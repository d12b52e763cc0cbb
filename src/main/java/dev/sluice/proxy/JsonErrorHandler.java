package dev.sluice.proxy;

import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Answers the errors Jetty produces itself (a malformed request line, headers over the size limit, an exception
 * escaping a handler) in OpenAI's shape instead of an HTML page, and without a stack trace. Each answer carries
 * {@value RequestIds#RESPONSE_HEADER}: the caller's {@code X-Request-Id} when Jetty parsed a sane one, otherwise a
 * generated id. Thread-safe.
 */
public final class JsonErrorHandler extends ErrorHandler {
  private final RequestIds requestIds = new RequestIds();

  @Override
  protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
      Callback callback) {
    String type = code >= 500 ? "server_error" : "invalid_request_error";
    String reason = HttpStatus.getMessage(code);
    String text = code >= 500 ? "Sluice could not handle the request (" + reason + ")." : reason + ".";
    response.getHeaders().remove(HttpHeader.CONTENT_TYPE);
    response.getHeaders().put(RequestIds.RESPONSE_HEADER, requestIds.idFor(request.getHeaders()));
    new OpenAiError(code, type, reason.toLowerCase(Locale.ROOT).replace(' ', '_'), text).write(response, callback);
  }
}
