package dev.sluice.observe;

import dev.sluice.http.OpenAiError;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code GET /metrics} on the metrics connector, and nothing else there: every other path on that connector is a
 * 404, every other method on {@code /metrics} a 405, both OpenAI-shaped. Requests that arrive on any other
 * connector are left to the next handler, so the proxy port's {@code /metrics} is proxied like any path.
 *
 * <p>Content negotiation: OpenMetrics ({@code application/openmetrics-text; version=1.0.0}) when the
 * {@code Accept} header asks for it, the classic text format ({@code text/plain; version=0.0.4}) otherwise.
 *
 * <p>A scrape runs on the thread that read the request, a selector thread: it only takes one snapshot per pool
 * (each under a lock held for a copy, never across I/O) and formats text, 2.5 to 3.5 ms at the median with 50
 * backends (see BENCHMARKS.md), once per scrape interval. Declaring this handler blocking would instead make Jetty
 * hand every request of the shared handler sequence, proxied ones included, to a pool thread. Thread-safe.
 */
public final class MetricsHandler extends Handler.Abstract.NonBlocking {
  /** The path the metrics are served on. */
  public static final String PATH = "/metrics";
  private final PrometheusRegistry registry;
  private final ExpositionFormats formats;
  private final Connector connector;

  MetricsHandler(PrometheusRegistry registry, ExpositionFormats formats, Connector connector) {
    this.registry = registry;
    this.formats = formats;
    this.connector = connector;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws IOException {
    if (request.getConnectionMetaData().getConnector() != connector) {
      return false;
    }
    String path = request.getHttpURI().getPath();
    if (!PATH.equals(path)) {
      error(response, callback, 404, "not_found", "The metrics port serves only GET " + PATH + ".");
      return true;
    }
    String method = request.getMethod();
    if (!"GET".equals(method) && !"HEAD".equals(method)) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      error(response, callback, 405, "method_not_allowed", "Use GET for " + PATH + ".");
      return true;
    }
    ExpositionFormatWriter writer = formats.findWriter(request.getHeaders().get(HttpHeader.ACCEPT));
    if (!writer.isAvailable()) { // the protobuf format needs a module Sluice does not ship
      writer = formats.getPrometheusTextFormatWriter();
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream(16 * 1024);
    writer.write(body, registry.scrape());
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, writer.getContentType());
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    if ("HEAD".equals(method)) {
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.size());
      response.write(true, null, callback);
    } else {
      response.write(true, ByteBuffer.wrap(body.toByteArray()), callback);
    }
    return true;
  }

  private static void error(Response response, Callback callback, int status, String code, String message) {
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    new OpenAiError(status, "invalid_request_error", code, message).write(response, callback);
  }
}
