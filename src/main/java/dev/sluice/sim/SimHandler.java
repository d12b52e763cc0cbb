package dev.sluice.sim;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.util.JsonRecyclerPools;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.sim.Faults.Fault;
import dev.sluice.sim.Generation.Shape;
import dev.sluice.time.Clock;
import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The simulated provider's HTTP surface. A blocking handler: Jetty runs each request on its own virtual thread, so
 * latency is a plain timed wait and every write blocks until flushed. Routes {@code /v1/*} (or the same without
 * {@code /v1}): chat completions, completions, embeddings, models, echo; and the control endpoints
 * {@code /sim/stats}, {@code /sim/config}, {@code /sim/reset-stats}.
 *
 * <p>A model call is parsed, checked against the per-request override headers, then against the {@link Limits};
 * once admitted it may draw a fault, waits for its time to first token and answers (whole or streamed). Echo
 * honours the override headers but not the limits or the configured faults.
 *
 * <p>Thread-safe: the config is a volatile immutable record; limits, faults, counters and the recorder guard
 * themselves; no lock is held across a write or a wait.
 */
final class SimHandler extends Handler.Abstract {
  private static final Logger LOG = LoggerFactory.getLogger(SimHandler.class);
  private static final long MODELS_CREATED_EPOCH_SECONDS = 1_735_689_600L; // 2025-01-01T00:00:00Z
  private static final int EMBEDDING_DIMENSIONS = 8;
  private static final String JSON = "application/json";

  private final Clock clock;
  private final ObjectMapper mapper;
  private final SimJson simJson;
  private final Limits limits;
  private final Faults faults;
  private final Counters counters = new Counters();
  private final Recorder recorder = new Recorder();
  /** Requests' threads sleeping out a latency or a stall, interrupted when the server closes. */
  private final Set<Thread> pausing = ConcurrentHashMap.newKeySet();
  private volatile boolean closing;
  private final AtomicLong sequence = new AtomicLong();
  private volatile SimConfig config;

  SimHandler(SimConfig config, Clock clock) {
    this.clock = clock;
    this.config = config;
    // Requests run on fresh virtual threads, so Jackson's default thread-local buffer recycling would allocate
    // (and softly retain) new buffers for every request: share a bounded pool instead.
    this.mapper = new ObjectMapper(JsonFactory.builder().recyclerPool(JsonRecyclerPools.newBoundedPool(256)).build())
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    this.simJson = new SimJson(mapper);
    this.limits = new Limits(config, clock.nanoTime());
    this.faults = new Faults(config.seed());
  }

  SimConfig config() {
    return config;
  }

  synchronized void updateConfig(SimConfig next) {
    limits.update(next, clock.nanoTime());
    config = next;
  }

  /** Applies a {@code POST /sim/config} patch atomically; throws {@link IllegalArgumentException} if invalid. */
  private synchronized SimConfig patchConfig(JsonNode patch) {
    SimConfig next = SimJson.patch(config, patch);
    updateConfig(next);
    return next;
  }

  SimStats stats() {
    return counters.snapshot(limits.inFlight());
  }

  void resetStats() {
    counters.reset();
  }

  Recorder recorder() {
    return recorder;
  }

  /** Wakes every request waiting out a latency or a stall, so the server can stop promptly. */
  void wakeAll() {
    closing = true;
    pausing.forEach(Thread::interrupt);
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    // This handler goes silent on purpose (latency, stalls): only a pending read or write may time out.
    request.addIdleTimeoutListener(timeout -> false);
    byte[] body;
    try {
      body = readBody(request);
    } catch (IOException e) {
      callback.failed(e);
      return true;
    }
    recorder.record(recorded(request, body));
    try {
      route(request, response, body);
      callback.succeeded();
    } catch (ResetException e) {
      callback.failed(e);
    } catch (IOException e) {
      counters.clientDisconnects.increment();
      LOG.debug("client went away from {} {}", request.getMethod(), request.getHttpURI().getPath(), e);
      callback.failed(e);
    } catch (RuntimeException e) {
      LOG.warn("sim failed on {} {}", request.getMethod(), request.getHttpURI().getPath(), e);
      callback.failed(e);
    }
    return true;
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

  private void route(Request request, Response response, byte[] body) throws IOException {
    String method = request.getMethod();
    String path = request.getHttpURI().getDecodedPath();
    if (path == null) {
      path = "";
    }
    if (path.startsWith("/sim/")) {
      control(method, path, response, body);
      return;
    }
    String api = path.equals("/v1") || path.startsWith("/v1/") ? path.substring(3) : path;
    if (api.startsWith("/echo")) {
      echo(request, response, body);
      return;
    }
    switch (api) {
      case "/chat/completions" -> {
        if (allowed(method, "POST", path, response)) {
          modelCall(Endpoint.CHAT, request, response, body);
        }
      }
      case "/completions" -> {
        if (allowed(method, "POST", path, response)) {
          modelCall(Endpoint.TEXT, request, response, body);
        }
      }
      case "/embeddings" -> {
        if (allowed(method, "POST", path, response)) {
          modelCall(Endpoint.EMBEDDINGS, request, response, body);
        }
      }
      case "/models" -> {
        if (allowed(method, "GET", path, response)) {
          sendJson(response, 200, modelList(config.models()), List.of());
        }
      }
      default -> {
        if (api.startsWith("/models/") && api.length() > "/models/".length()) {
          if (allowed(method, "GET", path, response)) {
            model(api.substring("/models/".length()), response);
          }
        } else {
          sendError(response, 404, "Unknown path " + path, "invalid_request_error", "not_found", List.of());
        }
      }
    }
  }

  private boolean allowed(String method, String expected, String path, Response response) throws IOException {
    if (method.equals(expected)) {
      return true;
    }
    response.getHeaders().put(HttpHeader.ALLOW, expected);
    sendError(response, 405, "Method " + method + " is not allowed on " + path + "; use " + expected,
        "invalid_request_error", "method_not_allowed", List.of());
    return false;
  }

  // ---- control endpoints ----

  private void control(String method, String path, Response response, byte[] body) throws IOException {
    switch (method + " " + path) {
      case "GET /sim/stats" -> sendJson(response, 200, json(simJson.stats(stats())), List.of());
      case "GET /sim/config" -> sendJson(response, 200, json(simJson.config(config)), List.of());
      case "POST /sim/config" -> {
        JsonNode patch;
        try {
          patch = mapper.readTree(body);
        } catch (JacksonException e) {
          sendError(response, 400, "sim config: the body is not JSON: " + e.getOriginalMessage(),
              "invalid_request_error", "invalid_config", List.of());
          return;
        }
        SimConfig next;
        try {
          next = patchConfig(patch);
        } catch (IllegalArgumentException e) {
          sendError(response, 400, e.getMessage(), "invalid_request_error", "invalid_config", List.of());
          return;
        }
        sendJson(response, 200, json(simJson.config(next)), List.of());
      }
      case "POST /sim/reset-stats" -> {
        resetStats();
        sendJson(response, 200, json(simJson.stats(stats())), List.of());
      }
      default -> sendError(response, 404, "Unknown path " + path + " for " + method
          + "; control endpoints: GET /sim/stats, GET|POST /sim/config, POST /sim/reset-stats",
          "invalid_request_error", "not_found", List.of());
    }
  }

  private byte[] json(JsonNode node) throws IOException {
    return mapper.writeValueAsBytes(node);
  }

  // ---- models ----

  private byte[] modelList(List<String> models) {
    StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < models.size(); i++) {
      json.append(i == 0 ? "" : ",").append(modelJson(models.get(i)));
    }
    return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
  }

  private void model(String id, Response response) throws IOException {
    if (config.models().contains(id)) {
      sendJson(response, 200, modelJson(id).getBytes(StandardCharsets.UTF_8), List.of());
    } else {
      sendError(response, 404, "The model '" + id + "' does not exist", "invalid_request_error",
          "model_not_found", List.of());
    }
  }

  private static String modelJson(String id) {
    int slash = id.indexOf('/');
    String owner = slash > 0 ? id.substring(0, slash) : "sim";
    return "{\"id\":" + Generation.quote(id) + ",\"object\":\"model\",\"created\":" + MODELS_CREATED_EPOCH_SECONDS
        + ",\"owned_by\":" + Generation.quote(owner) + "}";
  }

  /** The request's {@code X-Sim-*} overrides, or null once a malformed one has been answered with 400. */
  private Overrides overridesOrRefuse(Request request, Response response) throws IOException {
    try {
      return Overrides.from(request.getHeaders());
    } catch (IllegalArgumentException e) {
      sendError(response, 400, e.getMessage(), "invalid_request_error", "invalid_sim_header", List.of());
      return null;
    }
  }

  // ---- echo ----

  private void echo(Request request, Response response, byte[] body) throws IOException {
    Overrides overrides = overridesOrRefuse(request, response);
    if (overrides == null) {
      return;
    }
    long ttftMillis = Math.max(0, overrides.ttftMillis());
    if (forcedAnswer(request, response, overrides, ttftMillis)) {
      return;
    }
    pause(ttftMillis);
    response.setStatus(200);
    String contentType = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (contentType != null) {
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    }
    response.getHeaders().put("X-Sim-Method", request.getMethod());
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
    if ("stall".equals(overrides.fault())) {
      writeStalled(response, body, config.stallMillis());
    } else {
      write(response, true, body);
    }
  }

  // ---- model calls ----

  /** The three OpenAI endpoints that take a model. */
  private enum Endpoint { CHAT, TEXT, EMBEDDINGS }

  private void modelCall(Endpoint endpoint, Request request, Response response, byte[] body) throws IOException {
    SimConfig c = config;
    Overrides overrides = overridesOrRefuse(request, response);
    if (overrides == null) {
      return;
    }
    JsonNode root;
    try {
      root = mapper.readTree(body);
    } catch (JacksonException e) {
      root = null;
    }
    if (root == null || !root.isObject()) {
      sendError(response, 400, "We could not parse the JSON body of your request. (HINT: This likely means you "
          + "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)",
          "invalid_request_error", null, List.of());
      return;
    }
    JsonNode modelNode = root.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.textValue().isEmpty()) {
      sendError(response, 400, "you must provide a model parameter", "invalid_request_error", null, List.of());
      return;
    }
    String model = modelNode.textValue();
    JsonNode input = endpoint == Endpoint.EMBEDDINGS ? root.get("input") : null;
    if (endpoint == Endpoint.EMBEDDINGS && (input == null || input.isNull())) {
      sendError(response, 400, "'input' is a required property", "invalid_request_error", null, List.of());
      return;
    }
    boolean stream = endpoint != Endpoint.EMBEDDINGS && root.path("stream").asBoolean(false);
    int promptTokens = Math.max(1, switch (endpoint) {
      case CHAT -> textLength(root.get("messages"));
      case TEXT -> textLength(root.get("prompt"));
      case EMBEDDINGS -> textLength(input);
    } / 4);
    int completionTokens = 0;
    String finishReason = "stop";
    if (endpoint != Endpoint.EMBEDDINGS) {
      completionTokens = overrides.chunks() >= 0 ? overrides.chunks() : c.completionTokens();
      int cap = maxTokens(root);
      if (cap >= 0 && cap < completionTokens) {
        completionTokens = cap;
        finishReason = "length";
      }
    }
    long ttftMillis = overrides.ttftMillis() >= 0 ? overrides.ttftMillis() : c.ttftMillis();
    if (forcedAnswer(request, response, overrides, ttftMillis)) {
      return;
    }

    Admission admission = limits.tryAdmit(clock.nanoTime(), promptTokens + completionTokens);
    if (!admission.accepted()) {
      counters.rejected(admission.verdict());
      List<Map.Entry<String, String>> headers = new ArrayList<>(admission.headers());
      headers.addFirst(Map.entry("Retry-After",
          Long.toString(Durations.retryAfterSeconds(admission.retryAfterNanos()))));
      sendError(response, 429, admission.message(),
          admission.verdict() == Admission.Verdict.TOKENS ? "tokens" : "requests", "rate_limit_exceeded", headers);
      return;
    }
    counters.accepted.increment();
    counters.acceptedTokens.add(promptTokens + completionTokens);
    // The slot is free once the last bytes are handed to Jetty, so a client that calls again as soon as it has read
    // the answer is never refused by a concurrency limit that has not yet seen the end of the previous call.
    AtomicBoolean released = new AtomicBoolean();
    Runnable release = () -> {
      if (released.compareAndSet(false, true)) {
        limits.release();
      }
    };
    Response toClient = new Response.Wrapper(request, response) {
      @Override
      public void write(boolean last, ByteBuffer content, Callback callback) {
        if (last) {
          release.run();
        }
        super.write(last, content, callback);
      }
    };
    try {
      long n = sequence.incrementAndGet();
      List<Map.Entry<String, String>> headers = new ArrayList<>(admission.headers());
      headers.add(Map.entry("x-request-id", "req-sim-" + n));
      Fault fault = "stall".equals(overrides.fault()) ? Fault.STALL : faults.draw(c, stream);
      switch (fault) {
        case ERROR -> {
          pause(ttftMillis);
          counters.serverErrors.increment();
          sendError(toClient, 500, "The server had an error while processing your request. Sorry about that!",
              "server_error", null, headers);
          return;
        }
        case RESET -> {
          pause(ttftMillis);
          counters.resets.increment();
          throw reset(request);
        }
        case NONE, STALL -> { }
      }
      boolean stall = fault == Fault.STALL;
      long createdSeconds = clock.wallTimeMillis() / 1000;
      if (endpoint == Endpoint.EMBEDDINGS) {
        pause(ttftMillis);
        sendJson(toClient, 200, embeddings(model, input, promptTokens), headers, stall, c.stallMillis());
        return;
      }
      Generation generation = new Generation(endpoint == Endpoint.CHAT ? Shape.CHAT : Shape.TEXT, n,
          createdSeconds, model, completionTokens, finishReason, promptTokens,
          root.path("stream_options").path("include_usage").asBoolean(false));
      if (stream) {
        stream(toClient, generation, headers, ttftMillis, c.perTokenMillis(), stall, c.stallMillis());
      } else {
        pause(ttftMillis + c.perTokenMillis() * completionTokens);
        sendJson(toClient, 200, generation.body(), headers, stall, c.stallMillis());
      }
    } finally {
      release.run();
    }
  }

  /**
   * Answers {@code X-Sim-Status} and the {@code X-Sim-Fault}s that need no admission (500, 503, 429, reset).
   * Returns whether it answered.
   */
  private boolean forcedAnswer(Request request, Response response, Overrides overrides, long ttftMillis)
      throws IOException {
    if (overrides.status() > 0) {
      int status = overrides.status();
      if (status == 429) {
        forced429(response);
        return true;
      }
      pause(ttftMillis);
      if (status >= 500) {
        counters.serverErrors.increment();
      }
      sendError(response, status, "Simulated HTTP " + status + " (X-Sim-Status)",
          status >= 500 ? "server_error" : "invalid_request_error", null, List.of());
      return true;
    }
    if (overrides.fault() == null) {
      return false;
    }
    switch (overrides.fault()) {
      case "500" -> {
        pause(ttftMillis);
        counters.serverErrors.increment();
        sendError(response, 500, "The server had an error while processing your request. Sorry about that!",
            "server_error", null, List.of());
      }
      case "503" -> {
        pause(ttftMillis);
        counters.serverErrors.increment();
        sendError(response, 503, "The server is overloaded or not ready yet.", "server_error", null, List.of());
      }
      case "429" -> forced429(response);
      case "reset" -> {
        pause(ttftMillis);
        counters.resets.increment();
        throw reset(request);
      }
      default -> {
        return false; // stall: served normally, stalling half-way
      }
    }
    return true;
  }

  private void forced429(Response response) throws IOException {
    counters.rejectedByRate.increment();
    List<Map.Entry<String, String>> headers = new ArrayList<>();
    headers.add(Map.entry("Retry-After", "1"));
    if (config.rpm() > 0) {
      headers.add(Map.entry("x-ratelimit-limit-requests", Integer.toString(config.rpm())));
    }
    headers.add(Map.entry("x-ratelimit-remaining-requests", "0"));
    headers.add(Map.entry("x-ratelimit-reset-requests", "1s"));
    sendError(response, 429, "Rate limit reached for requests (forced by X-Sim-Fault). Please try again in 1s.",
        "requests", "rate_limit_exceeded", headers);
  }

  private static int maxTokens(JsonNode root) {
    for (String field : new String[] {"max_completion_tokens", "max_tokens"}) {
      JsonNode node = root.get(field);
      if (node != null && node.isIntegralNumber() && node.canConvertToInt() && node.intValue() >= 0) {
        return node.intValue();
      }
    }
    return -1;
  }

  /** Characters of text in a prompt, messages or input (strings, content parts, token ids as 4 each). */
  private static int textLength(JsonNode node) {
    if (node == null) {
      return 0;
    }
    if (node.isTextual()) {
      return node.textValue().length();
    }
    if (node.isNumber()) {
      return 4;
    }
    int length = 0;
    if (node.isArray()) {
      for (JsonNode element : node) {
        length += textLength(element);
      }
    } else if (node.isObject()) {
      length += textLength(node.get("content")) + textLength(node.get("text"));
    }
    return length;
  }

  private byte[] embeddings(String model, JsonNode input, int promptTokens) {
    List<String> inputs = new ArrayList<>();
    if (input.isArray() && !input.isEmpty() && !input.get(0).isNumber()) {
      input.forEach(element -> inputs.add(element.isTextual() ? element.textValue() : element.toString()));
    } else {
      inputs.add(input.isTextual() ? input.textValue() : input.toString());
    }
    StringBuilder json = new StringBuilder("{\"object\":\"list\",\"data\":[");
    for (int i = 0; i < inputs.size(); i++) {
      json.append(i == 0 ? "" : ",").append("{\"object\":\"embedding\",\"index\":").append(i)
          .append(",\"embedding\":[");
      float[] vector = vector(inputs.get(i));
      for (int d = 0; d < vector.length; d++) {
        json.append(d == 0 ? "" : ",").append(vector[d]);
      }
      json.append("]}");
    }
    json.append("],\"model\":").append(Generation.quote(model)).append(",\"usage\":{\"prompt_tokens\":")
        .append(promptTokens).append(",\"total_tokens\":").append(promptTokens).append("}}");
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A unit vector derived from an FNV-1a hash of the text: the same text always gives the same vector. */
  static float[] vector(String text) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      hash = (hash ^ (b & 0xff)) * 0x100000001b3L;
    }
    SplittableRandom random = new SplittableRandom(hash);
    double[] raw = new double[EMBEDDING_DIMENSIONS];
    double norm = 0;
    for (int i = 0; i < raw.length; i++) {
      raw[i] = random.nextDouble(-1.0, 1.0);
      norm += raw[i] * raw[i];
    }
    norm = Math.sqrt(norm);
    float[] vector = new float[raw.length];
    for (int i = 0; i < raw.length; i++) {
      vector[i] = (float) (Math.round(raw[i] / norm * 1e6) / 1e6);
    }
    return vector;
  }

  // ---- writing ----

  private void stream(Response response, Generation generation, List<Map.Entry<String, String>> headers,
      long ttftMillis, long perTokenMillis, boolean stall, long stallMillis) throws IOException {
    response.setStatus(200);
    HttpFields.Mutable fields = response.getHeaders();
    fields.put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    fields.put(HttpHeader.CACHE_CONTROL, "no-cache");
    headers.forEach(h -> fields.add(h.getKey(), h.getValue()));
    pause(ttftMillis);
    int tokens = generation.completionTokens();
    int stallAt = stall ? tokens / 2 : -1;
    if (tokens == 0) {
      if (stallAt == 0) {
        stallNow(response, stallMillis);
      }
      if (generation.shape() == Shape.CHAT) {
        write(response, false, generation.roleEvent());
      }
    }
    for (int i = 0; i < tokens; i++) {
      if (i == stallAt) {
        stallNow(response, stallMillis);
      } else if (i > 0) {
        pause(perTokenMillis);
      }
      write(response, false, generation.tokenEvent(i));
    }
    write(response, false, generation.finishEvent());
    if (generation.includeUsage()) {
      write(response, false, generation.usageEvent());
    }
    write(response, true, Generation.DONE);
  }

  /** Sends the headers (if not yet sent), counts a stall and stays silent for {@code stallMillis}. */
  private void stallNow(Response response, long stallMillis) throws IOException {
    if (!response.isCommitted()) {
      write(response, false, new byte[0]);
    }
    counters.stalls.increment();
    pause(stallMillis);
  }

  private void writeStalled(Response response, byte[] body, long stallMillis) throws IOException {
    int half = body.length / 2;
    write(response, false, Arrays.copyOfRange(body, 0, half));
    stallNow(response, stallMillis);
    write(response, true, Arrays.copyOfRange(body, half, body.length));
  }

  private void sendJson(Response response, int status, byte[] body, List<Map.Entry<String, String>> headers)
      throws IOException {
    sendJson(response, status, body, headers, false, 0);
  }

  private void sendJson(Response response, int status, byte[] body, List<Map.Entry<String, String>> headers,
      boolean stall, long stallMillis) throws IOException {
    response.setStatus(status);
    HttpFields.Mutable fields = response.getHeaders();
    fields.put(HttpHeader.CONTENT_TYPE, JSON);
    fields.put(HttpHeader.CONTENT_LENGTH, Integer.toString(body.length));
    headers.forEach(h -> fields.add(h.getKey(), h.getValue()));
    if (stall) {
      writeStalled(response, body, stallMillis);
    } else {
      write(response, true, body);
    }
  }

  private void sendError(Response response, int status, String message, String type, String code,
      List<Map.Entry<String, String>> headers) throws IOException {
    String json = "{\"error\":{\"message\":" + Generation.quote(message) + ",\"type\":" + Generation.quote(type)
        + ",\"code\":" + (code == null ? "null" : Generation.quote(code)) + "}}";
    sendJson(response, status, json.getBytes(StandardCharsets.UTF_8), headers);
  }

  private static void write(Response response, boolean last, byte[] bytes) throws IOException {
    try (Blocker.Callback callback = Blocker.callback()) {
      response.write(last, ByteBuffer.wrap(bytes), callback);
      callback.block();
    }
  }

  /**
   * Sleeps {@code millis} (or until the server closes) on this virtual thread. Each request sleeps on its own:
   * timed waits on one shared latch made every timeout walk the latch's queue, so the cost grew with the number
   * of open streams times their tokens.
   */
  private void pause(long millis) {
    if (millis <= 0 || closing) {
      return;
    }
    Thread self = Thread.currentThread();
    pausing.add(self);
    try {
      // Registered before this check, so a close from now on interrupts the sleep.
      if (!closing) {
        Thread.sleep(millis);
      }
    } catch (InterruptedException e) {
      if (!closing) {
        self.interrupt();
      }
    } finally {
      pausing.remove(self);
    }
  }

  /** Drops the connection without an answer: SO_LINGER 0, so the client sees a reset rather than an EOF. */
  private static ResetException reset(Request request) {
    EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
    if (endPoint.getTransport() instanceof SocketChannel channel) {
      try {
        channel.setOption(StandardSocketOptions.SO_LINGER, 0);
      } catch (IOException | UnsupportedOperationException e) {
        LOG.debug("cannot set SO_LINGER before a simulated reset", e);
      }
    }
    ResetException reset = new ResetException();
    endPoint.close(reset);
    return reset;
  }

  /** The failure a simulated reset completes the request with. */
  private static final class ResetException extends EofException {
    ResetException() {
      super("connection reset by the simulated provider");
    }
  }
}
