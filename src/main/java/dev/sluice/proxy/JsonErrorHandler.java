package dev.sluice.proxy;

import dev.sluice.http.OpenAiError;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Answers the errors Jetty produces itself (a malformed request line, headers over the size limit, an HTTP/2
 * preface, an exception escaping a handler) in OpenAI's shape instead of an HTML page or an empty body, whatever
 * the request's method (an answer to HEAD has no body), and without a stack trace. A request line without an HTTP
 * version is malformed: 400, where Jetty would say 505. Each answer carries {@value RequestIds#RESPONSE_HEADER}:
 * the caller's {@code X-Request-Id} when Jetty parsed a sane one, otherwise a generated id. Thread-safe.
 */
public final class JsonErrorHandler extends ErrorHandler {
  /** Jetty's reason for a request line that ends after the URI, as HTTP/0.9's did. */
  static final String JETTY_NO_VERSION_REASON = "HTTP/0.9 not supported";
  private final RequestIds requestIds;

  /** @param requestIds names each answer */
  public JsonErrorHandler(RequestIds requestIds) {
    this.requestIds = requestIds;
  }

  /** Jetty writes no error body for methods other than GET, POST and HEAD unless told to. */
  @Override
  public boolean errorPageForMethod(String method) {
    return true;
  }

  @Override
  protected void generateResponse(Request request, Response response, int code, String message, Throwable cause,
      Callback callback) {
    response.getHeaders().remove(HttpHeader.CONTENT_TYPE);
    requestIds.nameResponse(request, response);
    OpenAiError error = describe(code, message);
    if (error.status() == HttpStatus.SERVICE_UNAVAILABLE_503 || error.status() == HttpStatus.TOO_MANY_REQUESTS_429) {
      // Jetty's own refusals (stopping, overloaded) say when to come back, as every 429 and 503 of Sluice's does.
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
    }
    if (HttpMethod.HEAD.is(request.getMethod())) {
      // Jetty would write the body of a malformed HEAD request's answer.
      response.setStatus(error.status());
      callback.succeeded();
      return;
    }
    error.write(response, callback);
  }

  private static OpenAiError describe(int code, String jettyReason) {
    if (code == HttpStatus.HTTP_VERSION_NOT_SUPPORTED_505 && JETTY_NO_VERSION_REASON.equals(jettyReason)) {
      return OpenAiError.badRequest("missing_http_version", "The request line has no HTTP version; send HTTP/1.1.");
    }
    if (code == HttpStatus.UPGRADE_REQUIRED_426) {
      return new OpenAiError(code, "invalid_request_error", "http2_not_supported",
          "Sluice does not speak HTTP/2; send HTTP/1.1.");
    }
    String reason = HttpStatus.getMessage(code);
    String errorCode = reason.toLowerCase(Locale.ROOT).replace(' ', '_');
    return code >= 500
        ? new OpenAiError(code, "server_error", errorCode, "Sluice could not handle the request (" + reason + ").")
        : new OpenAiError(code, "invalid_request_error", errorCode, reason + ".");
  }
}
