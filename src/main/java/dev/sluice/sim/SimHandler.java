package dev.sluice.sim;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.sim.CallRequest.Endpoint;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated provider's HTTP surface. A blocking handler: Jetty runs each request on its own virtual thread, so
 * latency is a plain timed wait and every write blocks until flushed. It reads and records each request, then routes
 * {@code /v1/*} (or the same without {@code /v1}): echo to {@link Echo}; every other path, once {@link KeyCheck} has
 * let its key pass, chat completions, completions and embeddings to {@link ModelCalls}, models to
 * {@link ModelCatalog}; and {@code /sim/*} to {@link ControlEndpoints}. It builds those parts and answers a wrong method with 405 and an unknown path with 404.
 *
 * <p>Thread-safe: every part guards itself; no lock is held across a write or a wait.
 */
final class SimHandler extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(SimHandler.class);

  private final LiveConfig config;
  private final Counters counters = new Counters();
  private final Recorder recorder = new Recorder();
  private final Pauses pauses;
  private final Replies replies;
  private final ControlEndpoints control;
  private final ModelCatalog catalog;
  private final Echo echo;
  private final ModelCalls modelCalls;
  private final KeyCheck keyCheck;
  private final Refusals refusals;

  /**
   * @param server the server this handler is for; {@link Refusals} adds its connector to it
   * @param connectors makes the server's connector for a port
   * @param port the port to listen on, 0 for any free one
   */
  SimHandler(SimConfig initial, Clock clock, Sleeper sleeper, ClientWatch clientWatch, Server server,
      IntFunction<ListeningConnector> connectors, int port) {
    // Requests run on fresh virtual threads, so Jackson's default thread-local buffer recycling would allocate
    // (and softly retain) new buffers for every request: share a bounded pool instead.
    ObjectMapper mapper = new ObjectMapper(JsonFactory.builder().recyclerPool(JsonRecyclerPools.newBoundedPool(256))
        .build()).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    Limits limits = new Limits(initial, clock.nanoTime());
    this.pauses = new Pauses(sleeper, clientWatch);
    this.config = new LiveConfig(initial, limits, clock);
    Stalls stalls = new Stalls(counters, pauses);
    this.replies = new Replies(stalls);
    OverrideAnswers overrideAnswers = new OverrideAnswers(config, counters, pauses, replies);
    this.refusals = new Refusals(server, connectors, port, sleeper, pauses);
    this.control = new ControlEndpoints(config, limits, counters, mapper, replies, refusals, clock);
    this.catalog = new ModelCatalog(config, replies);
    this.keyCheck = new KeyCheck(counters, replies);
    this.echo = new Echo(config, overrideAnswers, pauses, stalls);
    this.modelCalls = new ModelCalls(config, limits, counters, clock, mapper, overrideAnswers, pauses, replies,
        new EventStream(stalls, pauses), stalls);
  }

  SimConfig config() {
    return config.current();
  }

  void updateConfig(SimConfig next) {
    config.update(next);
  }

  SimStats stats() {
    return control.stats();
  }

  Recorder recorder() {
    return recorder;
  }

  Refusals refusals() {
    return refusals;
  }

  /**
   * Ends every request waiting out a latency or a stall, now or later, without (the rest of) its answer, so the
   * server can stop promptly.
   */
  void wakeAll() {
    pauses.wakeAll();
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    // This handler goes silent on purpose (latency, stalls): only a pending read or write may time out.
    request.addIdleTimeoutListener(timeout -> false);
    EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
    pauses.begin(endPoint.getTransport() instanceof SelectableChannel channel ? channel : null);
    try {
      handle(request, response, callback, endPoint);
    } finally {
      pauses.end();
    }
    return true;
  }

  private void handle(Request request, Response response, Callback callback, EndPoint endPoint) {
    byte[] body;
    try {
      body = readBody(request);
    } catch (IOException e) {
      callback.failed(e);
      return;
    }
    recorder.record(recorded(request, body));
    try {
      route(request, response, body, endPoint);
      callback.succeeded();
    } catch (SimulatedReset e) {
      callback.failed(e);
    } catch (ServerClosing e) {
      // Drop the connection first: failing a response not yet committed would send a 500 instead.
      endPoint.close(e);
      callback.failed(e);
    } catch (ClientGone e) {
      counters.clientDisconnects.increment();
      endPoint.close(e);
      callback.failed(e);
    } catch (IOException e) {
      if (pauses.droppedByServer()) {
        LOG.debug("dropped {} {} with its connection", request.getMethod(), request.getHttpURI().getPath(), e);
        callback.failed(e);
        return;
      }
      counters.clientDisconnects.increment();
      LOG.debug("client went away from {} {}", request.getMethod(), request.getHttpURI().getPath(), e);
      callback.failed(e);
    } catch (RuntimeException e) {
      LOG.warn("sim failed on {} {}", request.getMethod(), request.getHttpURI().getPath(), e);
      callback.failed(e);
    }
  }

  private static byte[] readBody(Request request) throws IOException {
    ByteBuffer buffer = Content.Source.asByteBuffer(request);
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return bytes;
  }

  private static RecordedRequest recorded(Request request, byte[] body) {
    HttpFields fields = request.getHeaders();
    List<RecordedRequest.Header> headers = new ArrayList<>(fields.size());
    for (HttpField field : fields) {
      headers.add(new RecordedRequest.Header(field.getName(), field.getValue()));
    }
    return new RecordedRequest(request.getMethod(), request.getHttpURI().getPathQuery(), headers, body);
  }

  private void route(Request request, Response response, byte[] body, EndPoint endPoint) throws IOException {
    String method = request.getMethod();
    String path = request.getHttpURI().getDecodedPath();
    if (path == null) {
      path = "";
    }
    if (path.startsWith("/sim/")) {
      control.answer(method, path, response, body, endPoint);
      return;
    }
    String api = path.equals("/v1") || path.startsWith("/v1/") ? path.substring(3) : path;
    if (api.startsWith("/echo")) {
      echo.answer(request, response, body);
      return;
    }
    // Like a provider, the key is checked before anything else about the request.
    if (keyCheck.refused(request, response, config.current())) {
      return;
    }
    switch (api) {
      case "/chat/completions" -> modelCall(Endpoint.CHAT, request, response, body, path);
      case "/completions" -> modelCall(Endpoint.TEXT, request, response, body, path);
      case "/embeddings" -> modelCall(Endpoint.EMBEDDINGS, request, response, body, path);
      case "/models" -> {
        if (allowed(method, "GET", path, response)) {
          catalog.list(response);
        }
      }
      default -> {
        if (api.startsWith("/models/") && api.length() > "/models/".length()) {
          if (allowed(method, "GET", path, response)) {
            catalog.one(api.substring("/models/".length()), response);
          }
        } else {
          replies.error(response, 404, "Unknown path " + path, "invalid_request_error", "not_found", List.of());
        }
      }
    }
  }

  private void modelCall(Endpoint endpoint, Request request, Response response, byte[] body, String path)
      throws IOException {
    if (allowed(request.getMethod(), "POST", path, response)) {
      modelCalls.answer(endpoint, request, response, body);
    }
  }

  private boolean allowed(String method, String expected, String path, Response response) throws IOException {
    if (method.equals(expected)) {
      return true;
    }
    response.getHeaders().put(HttpHeader.ALLOW, expected);
    replies.error(response, 405, "Method " + method + " is not allowed on " + path + "; use " + expected,
        "invalid_request_error", "method_not_allowed", List.of());
    return false;
  }
}
