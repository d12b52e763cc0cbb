package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import dev.sluice.backend.Pool;
import dev.sluice.backend.Priority;
import dev.sluice.http.OpenAiError;
import dev.sluice.route.Router;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.time.Clock;
import java.io.EOFException;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * The ingress: every request that is not one of Sluice's own endpoints. Reads the body once (bounded), finds
 * {@code model}, {@code stream} and the token limits with a streaming scan, checks the OpenAI endpoints' input,
 * routes the model to a pool or to passthrough, makes the pool's edits to the body and estimates the tokens the
 * request will use, and hands the exchange to the forwarder. Refuses CONNECT and TRACE (405). Never
 * blocks; Jetty may call it on any of its threads. Thread-safe: immutable apart from the request id sequence and the
 * volatile timeout.
 */
public final class ProxyHandler extends Handler.Abstract.NonBlocking {
  private final Router router;
  private final Map<String, Dispatcher> dispatchers;
  private final URI passthroughUpstream;
  private volatile long timeoutNanos;
  private final long maxBodyBytes;
  private final Clock clock;
  private final Forwarder forwarder;
  private final JsonFactory jsonFactory = BodyScan.newFactory();
  private final RequestIds requestIds;

  /**
   * @param router model to pool
   * @param dispatchers each pool's dispatcher, by pool name
   * @param passthroughUpstream where requests that match no pool go
   * @param timeoutSeconds a request's deadline from arrival: the longest wait in the queue, and no retry after it
   * @param maxBodyBytes largest request body accepted; larger gets 413
   * @param forwarder sends exchanges upstream and relays the answers
   * @param requestIds names each request and its answer
   */
  public ProxyHandler(Router router, Map<String, Dispatcher> dispatchers, URI passthroughUpstream,
      int timeoutSeconds, long maxBodyBytes, Clock clock, Forwarder forwarder, RequestIds requestIds) {
    this.router = router;
    this.dispatchers = Map.copyOf(dispatchers);
    this.passthroughUpstream = passthroughUpstream;
    this.timeoutNanos = timeoutSeconds * 1_000_000_000L;
    this.maxBodyBytes = maxBodyBytes;
    this.clock = clock;
    this.forwarder = forwarder;
    this.requestIds = requestIds;
  }

  /** Hot change of the request deadline; requests that arrive from now on get it, queued ones keep theirs. */
  public void setTimeoutSeconds(int timeoutSeconds) {
    this.timeoutNanos = timeoutSeconds * 1_000_000_000L;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    long now = clock.nanoTime();
    Exchange exchange = new Exchange(request, response, callback, requestIds.idFor(request.getHeaders()), now,
        now + timeoutNanos, Priority.fromHeader(request.getHeaders().get(Priority.HEADER)), forwarder);
    // Jetty reports a caller that left once it reads or writes the connection; CallerEndPoint watches it meanwhile.
    request.addFailureListener(failure -> forwarder.callerLeft(exchange, failure));
    // Queue waits and upstream timeouts bound the exchange; the caller's connection must not time out meanwhile.
    request.addIdleTimeoutListener(timeout -> false);
    // Methods are case-sensitive, but the upstream client would send "trace" as TRACE.
    if (request.getMethod().equalsIgnoreCase("CONNECT") || request.getMethod().equalsIgnoreCase("TRACE")) {
      // A tunnel or a loop-back through Sluice to a provider serves no API call, and a TRACE would echo the key.
      response.getHeaders().put(HttpHeader.ALLOW, FORWARDED_METHODS);
      forwarder.reject(exchange, new OpenAiError(405, "invalid_request_error", "method_not_allowed",
          "Method " + request.getMethod() + " is not allowed: Sluice forwards API requests, not tunnels or traces."));
      return true;
    }
    long declaredLength = request.getLength();
    // Refuse at once what is too large to read on, and what has not been sent yet (reading would ask for it).
    if (declaredLength > maxBodyBytes && (declaredLength > maxBodyBytes + BodyReader.DISCARD_LIMIT
        || request.getHeaders().contains(HttpHeader.EXPECT, "100-continue"))) {
      forwarder.reject(exchange, tooLarge());
      return true;
    }
    BodyReader.read(request, declaredLength, maxBodyBytes, new BodyReader.Sink() {
      @Override
      public void onBody(byte[] body, int length) {
        exchange.body = body;
        exchange.bodyLength = length;
        if (request.getConnectionMetaData().getConnection().getEndPoint() instanceof CallerEndPoint caller) {
          caller.watchForDeparture(() -> forwarder.callerLeft(exchange,
              new EOFException("the caller closed its connection before the answer")));
        }
        route(exchange);
      }

      @Override
      public void onTooLarge() {
        forwarder.reject(exchange, tooLarge());
      }

      @Override
      public void onFailure(Throwable failure) {
        forwarder.reject(exchange, OpenAiError.badRequest("body_read_failed", "The request body could not be read."));
      }
    });
    return true;
  }

  private OpenAiError tooLarge() {
    return new OpenAiError(413, "invalid_request_error", "request_too_large",
        "The request body is larger than the limit of " + maxBodyBytes + " bytes.");
  }

  private void route(Exchange exchange) {
    Request request = exchange.clientToProxyRequest;
    String path = request.getHttpURI().getPath();
    String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    boolean openAiJsonEndpoint = "POST".equals(request.getMethod()) && isJsonEndpoint(path);
    BodyScan scan = exchange.bodyLength > 0 && (openAiJsonEndpoint || BodyScan.isJsonType(contentType))
        ? BodyScan.scan(jsonFactory, exchange.body, exchange.bodyLength) : null;
    if (openAiJsonEndpoint) {
      Optional<OpenAiError> invalid = validate(contentType, exchange.bodyLength, scan);
      if (invalid.isPresent()) {
        forwarder.reject(exchange, invalid.get());
        return;
      }
    }
    boolean modelInPath = false;
    if (scan != null && scan.wellFormed()) {
      exchange.model = scan.model();
      exchange.stream = scan.stream();
    } else if ("GET".equals(request.getMethod()) && path.startsWith(MODELS_PATH)) {
      String decoded = request.getHttpURI().getDecodedPath();
      modelInPath = decoded.startsWith(MODELS_PATH);
      exchange.model = modelInPath ? decoded.substring(MODELS_PATH.length()) : null;
    }
    Optional<Pool> pool = router.route(exchange.model);
    if (pool.isEmpty()) {
      exchange.promptTokensEstimate = TokenEstimate.promptTokens(exchange.bodyLength);
      exchange.upstreamBase = passthroughUpstream;
      forwarder.forward(exchange);
      return;
    }
    exchange.pool = pool;
    edit(exchange, scan, pool.get(), path, modelInPath);
    estimateTokens(exchange, scan, path, pool.get());
    exchange.dispatcher = dispatchers.get(pool.get().name());
    exchange.enterQueue(clock.nanoTime());
    exchange.dispatcher.submit(exchange);
  }

  private static final String MODELS_PATH = "/v1/models/";
  /** The {@code Allow} of a 405: the methods an API uses. Others, except CONNECT and TRACE, are forwarded too. */
  private static final String FORWARDED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

  private static Optional<OpenAiError> validate(String contentType, int bodyLength, BodyScan scan) {
    if (!BodyScan.isJsonType(contentType)) {
      return Optional.of(OpenAiError.badRequest("unsupported_content_type",
          "Content-Type must be application/json, got " + (contentType == null ? "none" : contentType) + "."));
    }
    if (bodyLength == 0) {
      return Optional.of(OpenAiError.badRequest("missing_body", "The request body is empty; expected a JSON object."));
    }
    if (!scan.wellFormed()) {
      return Optional.of(OpenAiError.badRequest("invalid_json", "The request body is not a valid JSON object."));
    }
    if (scan.model() == null || scan.model().isBlank()) {
      return Optional.of(OpenAiError.badRequest("missing_model",
          "You must provide a model parameter (a non-empty string)."));
    }
    return Optional.empty();
  }

  /**
   * The edits a pool makes to a request: the model's provider prefix stripped ({@code strip_prefix}), and a stream
   * whose caller did not ask for its usage asked for it ({@code stream_usage}), the usage event then to be removed
   * from the answer. Body edits are splices, applied together in one copy of the body.
   */
  private static void edit(Exchange exchange, BodyScan scan, Pool pool, String path, boolean modelInPath) {
    Splice prefixCut = null;
    if (pool.stripPrefix() && modelInPath) {
      stripPathPrefix(exchange, path);
    } else if (pool.stripPrefix() && scan != null && scan.modelStart() >= 0) {
      prefixCut = modelPrefixCut(exchange, scan);
    }
    Splice askForUsage = null;
    if (pool.streamUsage() && scan != null && scan.wellFormed() && scan.stream()) {
      askForUsage = scan.streamOptions().askForUsage().orElse(null);
      exchange.stripUsageEvent = askForUsage != null;
    }
    if (prefixCut != null && askForUsage != null) {
      exchange.body = Splice.apply(exchange.body, exchange.bodyLength, prefixCut, askForUsage);
    } else if (prefixCut != null || askForUsage != null) {
      exchange.body = Splice.apply(exchange.body, exchange.bodyLength, prefixCut != null ? prefixCut : askForUsage);
    } else {
      return;
    }
    exchange.bodyLength = exchange.body.length;
  }

  /**
   * The cut that removes the provider prefix from the model string in the body, or null when it has none. The rest
   * of the string stays as the caller escaped it: {@code "nvidia\/meta\/llama"} goes upstream as
   * {@code "meta\/llama"}.
   */
  private static Splice modelPrefixCut(Exchange exchange, BodyScan scan) {
    exchange.model = Router.stripPrefix(scan.model());
    int valueStart = scan.modelStart() + 1;
    int rest = PrefixStrip.afterJsonSlash(exchange.body, valueStart, scan.modelEnd() - 1);
    return rest < 0 ? null : Splice.cut(valueStart, rest);
  }

  /**
   * Sets what the request is expected to use of a tokens-per-minute budget: its prompt (see
   * {@link TokenEstimate#promptTokens}) plus the completion it may take: the larger of {@code max_tokens} and
   * {@code max_completion_tokens}, else the pool's {@code default_max_tokens}; none for embeddings, and none for a
   * request without a JSON body (such as {@code GET /v1/models/{id}}).
   */
  private static void estimateTokens(Exchange exchange, BodyScan scan, String path, Pool pool) {
    long completion = 0;
    if (scan != null && scan.wellFormed() && !isEmbeddings(path)) {
      completion = scan.maxTokens() >= 0 ? scan.maxTokens() : pool.defaultMaxTokens();
    }
    exchange.promptTokensEstimate = TokenEstimate.promptTokens(exchange.bodyLength);
    long total = exchange.promptTokensEstimate + completion;
    exchange.estimatedTokens = total < 0 ? Long.MAX_VALUE : total; // a max_tokens near Long.MAX_VALUE saturates
  }

  private static boolean isEmbeddings(String path) {
    return path.equals("/v1/embeddings") || path.equals("/embeddings");
  }

  /**
   * Removes the provider prefix from the model id of {@code GET /v1/models/{id}}; the rest of the id stays as the
   * caller encoded it: {@code /v1/models/nvidia%2Fmeta%2Fllama} goes upstream as {@code /v1/models/meta%2Fllama}.
   */
  private static void stripPathPrefix(Exchange exchange, String path) {
    int rest = PrefixStrip.afterPathSlash(path, MODELS_PATH.length());
    if (rest > 0) { // else the decoder found a slash in some odder encoding: forward the id as sent
      exchange.model = Router.stripPrefix(exchange.model);
      exchange.upstreamPath = MODELS_PATH + path.substring(rest);
    }
  }

  private static boolean isJsonEndpoint(String path) {
    String p = path.startsWith("/v1/") ? path.substring(3) : path;
    return p.equals("/chat/completions") || p.equals("/completions") || p.equals("/embeddings");
  }
}
