package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import dev.sluice.backend.Attempt;
import dev.sluice.backend.Outcome.Failure;
import dev.sluice.backend.Outcome.Usage;
import dev.sluice.backend.Outcome;
import dev.sluice.backend.OutcomeListener;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Pool;
import dev.sluice.backend.RateHeaders;
import dev.sluice.config.Secret;
import dev.sluice.http.OpenAiError;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.time.Clock;
import dev.sluice.time.Waits;
import java.io.EOFException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.UnresolvedAddressException;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.ByteBufferRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends an {@link Exchange} upstream with the shared Jetty client and relays the response to the caller without
 * buffering, in Jetty's demand-driven style: each upstream chunk is retained and written, and only the write's
 * success releases it and demands the next, so a slow caller slows the upstream read instead of filling memory.
 *
 * <p>Timeouts: the request's idle timeout is the configured timeout, so silence before the response headers
 * gives 504, and silence between chunks after the response started ends it cleanly (a stream that keeps flowing
 * is never cut). A connect failure gives 502. A caller that goes away aborts the upstream exchange.
 *
 * <p>Each attempt releases its permit with what the backend's limiters learn from it: the status, the provider's
 * {@code x-ratelimit-*} headers, the tokens the answer used (its {@code usage}, or Sluice's estimate; see
 * {@link TokenEstimate}) and whether it was the provider's quota error (see {@link QuotaErrorBody}). A stream whose
 * usage Sluice asked for on the caller's behalf has its usage event removed on the way (see
 * {@link UsageEventStrip}); every other stream is relayed chunk for chunk.
 *
 * <p>One is created by the composition root and shared by every exchange. Thread-safety: stateless apart from
 * its collaborators and the volatile timeout; per-exchange state lives in {@link Relay}.
 */
public final class Forwarder {
  private static final Logger LOG = LoggerFactory.getLogger(Forwarder.class);

  private final HttpClient client;
  private volatile long timeoutMillis;
  private final Clock clock;
  private final OutcomeListener listener;
  private final JsonFactory jsonFactory;

  /**
   * @param client the shared upstream client, configured and started by the caller
   * @param timeoutMillis upstream header timeout and longest silence between streamed chunks
   * @param listener learns every request's outcome
   */
  public Forwarder(HttpClient client, long timeoutMillis, Clock clock, OutcomeListener listener) {
    this.client = client;
    this.timeoutMillis = timeoutMillis;
    this.clock = clock;
    this.listener = listener;
    this.jsonFactory = BodyScan.newFactory();
  }

  /** Hot change of the upstream timeout; attempts sent from now on use it. */
  public void setTimeoutMillis(long timeoutMillis) {
    this.timeoutMillis = timeoutMillis;
  }

  void forward(Exchange exchange) {
    exchange.leaveQueue(clock.nanoTime()); // building the upstream request is Sluice's own time, not the queue's
    var clientToProxyRequest = exchange.clientToProxyRequest;
    String path = exchange.upstreamPath != null ? exchange.upstreamPath : clientToProxyRequest.getHttpURI().getPath();
    String target = UpstreamUri.join(exchange.upstreamBase, path, clientToProxyRequest.getHttpURI().getQuery());
    Request proxyToServerRequest;
    try {
      proxyToServerRequest = client.newRequest(URI.create(target));
    } catch (IllegalArgumentException e) {
      releasePermit(exchange, Attempt.unanswered());
      reject(exchange, OpenAiError.badRequest("invalid_path", "The request path cannot be forwarded."));
      return;
    }
    String key = exchange.permit == null ? null
        : exchange.permit.backend().apiKey().map(Secret::reveal).orElse(null);
    proxyToServerRequest.method(clientToProxyRequest.getMethod())
        .idleTimeout(timeoutMillis, TimeUnit.MILLISECONDS)
        .headers(headers -> HeaderRules.copyRequestHeaders(clientToProxyRequest.getHeaders(), headers, key));
    if (exchange.bodyLength > 0) {
      proxyToServerRequest.body(new ByteBufferRequestContent(
          clientToProxyRequest.getHeaders().get(HttpHeader.CONTENT_TYPE),
          ByteBuffer.wrap(exchange.body, 0, exchange.bodyLength)));
    }
    if (exchange.clientGone) {
      releasePermit(exchange, Attempt.unanswered());
      finish(exchange, 0, Failure.CLIENT_DISCONNECTED);
      exchange.proxyToClientCallback.failed(new EOFException("caller went away while queued"));
      return;
    }
    Relay relay = new Relay(exchange, key);
    exchange.upstreamRequest = proxyToServerRequest;
    exchange.attempts++;
    exchange.sentNanos = clock.nanoTime();
    if (LOG.isDebugEnabled()) {
      LOG.debug("{} P2S {} {}", exchange.requestId, clientToProxyRequest.getMethod(), target);
    }
    long firstByteTimeout = exchange.permit == null ? 0 : exchange.pool.map(Pool::firstByteTimeoutMillis).orElse(0L);
    if (firstByteTimeout > 0) {
      relay.firstByteDeadline = client.getScheduler().schedule(() -> {
        if (!relay.headersArrived) {
          proxyToServerRequest.abort(new FirstByteTimeoutException(firstByteTimeout));
        }
      }, firstByteTimeout, TimeUnit.MILLISECONDS);
    }
    proxyToServerRequest.send(relay);
    // The caller may have left between the check above and upstreamRequest being set, unseen by callerLeft.
    if (exchange.clientGone) {
      proxyToServerRequest.abort(new EOFException("caller went away"));
    }
  }

  /**
   * Sends an exchange no pool could serve in time to its emergency upstream, unshaped: with the caller's own
   * credentials, no permit, no retry.
   */
  void forwardToEmergency(Exchange exchange) {
    LOG.info("{} sent to the emergency upstream {} after waiting {} ms: no pool could serve it in time",
        exchange.requestId, exchange.upstreamBase.getHost(),
        TimeUnit.NANOSECONDS.toMillis(clock.nanoTime() - exchange.arrivalNanos));
    forward(exchange);
  }

  /** No response headers within the pool's first-byte timeout. */
  static final class FirstByteTimeoutException extends TimeoutException {
    FirstByteTimeoutException(long millis) {
      super("no response headers within " + millis + " ms");
    }
  }

  /**
   * The caller hung up: a queued exchange leaves the queue and ends here; one in flight has its upstream attempt
   * aborted, which ends it. One between the two sees {@code clientGone} when it is sent or requeued.
   */
  void callerLeft(Exchange exchange, Throwable failure) {
    exchange.clientGone = true;
    if (exchange.dispatcher != null && exchange.dispatcher.withdraw(exchange)) {
      exchange.proxyToClientCallback.failed(failure);
      finish(exchange, 0, Failure.CLIENT_DISCONNECTED);
      return;
    }
    var upstream = exchange.upstreamRequest;
    // Once the caller has the whole answer, what the upstream still sends (its end of message) harms nobody.
    if (upstream != null && !exchange.callerHasWholeAnswer()) {
      upstream.abort(failure);
    }
  }

  /** Answers the caller with Sluice's own error; the exchange ends here. */
  void reject(Exchange exchange, OpenAiError error) {
    reject(exchange, error, 0, Failure.REJECTED);
  }

  /** Answers with Sluice's own error and, when positive, a {@code Retry-After} in seconds. */
  void reject(Exchange exchange, OpenAiError error, long retryAfterSeconds, Failure failure) {
    if (retryAfterSeconds > 0) {
      exchange.proxyToClientResponse.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(retryAfterSeconds));
    }
    exchange.nameResponse();
    exchange.putTimingHeaders(clock.nanoTime());
    // Counted before the caller can read the answer, so that /status never lags what a caller was told.
    finish(exchange, error.status(), failure);
    error.write(exchange.proxyToClientResponse, exchange.proxyToClientCallback);
  }

  /** Reports the exchange's outcome; the first call wins, later ones are ignored. */
  void finish(Exchange exchange, int status, Failure failure) {
    synchronized (exchange) {
      if (exchange.finished) {
        return;
      }
      exchange.finished = true;
    }
    long now = clock.nanoTime();
    long sent = exchange.sentNanos;
    exchange.leaveQueue(now);
    var request = exchange.clientToProxyRequest;
    listener.onOutcome(new Outcome(
        exchange.requestId, request.getMethod(), request.getHttpURI().getPath(), exchange.poolName(),
        exchange.backendLabel(), Optional.ofNullable(exchange.model), exchange.priority, exchange.stream, status,
        failure, exchange.queueNanos, exchange.attempts == 0 ? 0 : now - sent, exchange.firstByteNanos,
        exchange.overheadNanos, now - exchange.arrivalNanos, exchange.responseBytes, exchange.attempts,
        exchange.usage, exchange.retried));
  }

  private static void releasePermit(Exchange exchange, Attempt attempt) {
    Permit permit = exchange.permit;
    if (permit != null && !permit.isReleased()) {
      permit.release(attempt);
    }
  }

  /** The response leg of one exchange. Jetty serializes the listener callbacks; the write state is locked. */
  private final class Relay extends Callback.Completable implements Response.Listener {
    private final Exchange exchange;
    /** The backend's key sent upstream, or null when the caller's own credentials went. */
    private final String backendKey;
    private UsageSniffer sniffer = new UsageSniffer.None();
    /** Removes the usage event Sluice asked for from the stream; null when there is none to remove. */
    private UsageEventStrip usageStrip;
    /** An upstream error's body, held until it is known to be JSON (relayed) or not (replaced); else null. */
    private UpstreamErrorBody errorBody;
    /** The start of an answer whose status may carry the provider's quota error; else null. */
    private QuotaErrorBody quotaErrorBody;
    private int upstreamStatus;
    private long upstreamRetryAfterNanos;
    private RateHeaders upstreamRateHeaders = RateHeaders.NONE;
    /** The upstream failed before any byte reached the caller, and the request will go again. */
    private boolean retrying;
    /** Aborts the attempt if no response headers arrive in time; null without a first-byte timeout. */
    volatile org.eclipse.jetty.util.thread.Scheduler.Task firstByteDeadline;
    /** Set when the response headers arrive: a first-byte deadline due at that instant must not abort. */
    volatile boolean headersArrived;
    private boolean writing;
    private Runnable afterWrite;

    Relay(Exchange exchange, String backendKey) {
      this.exchange = exchange;
      this.backendKey = backendKey;
    }

    @Override
    public void onHeaders(Response serverToProxyResponse) {
      long now = clock.nanoTime();
      upstreamStatus = serverToProxyResponse.getStatus();
      HttpFields upstreamHeaders = serverToProxyResponse.getHeaders();
      long wallMillis = clock.wallTimeMillis();
      upstreamRateHeaders = RateLimitHeaders.read(upstreamHeaders, wallMillis);
      upstreamRetryAfterNanos = RetryAfter.nanos(upstreamHeaders, upstreamRateHeaders, wallMillis);
      if (exchange.permit != null) {
        // The provider's freshest count: what it says remains caps what is sent from now on.
        exchange.permit.backend().onRateHeaders(upstreamRateHeaders, now);
      }
      if (exchange.permit != null && exchange.pool.isPresent()
          && exchange.pool.get().quotaErrors().statuses().contains(upstreamStatus)) {
        quotaErrorBody = new QuotaErrorBody(upstreamHeaders.get(HttpHeader.CONTENT_ENCODING));
      }
      headersArrived = true;
      var deadline = firstByteDeadline;
      if (deadline != null) {
        deadline.cancel();
      }
      if (retryable(upstreamStatus)
          && mayRetry(upstreamStatus, upstreamStatus == 429 ? upstreamRetryAfterNanos : 0)) {
        retrying = true;
        return;
      }
      exchange.firstByteNanos = now - exchange.sentNanos;
      exchange.upstreamWaitNanos += exchange.firstByteNanos;
      var response = exchange.proxyToClientResponse;
      response.setStatus(upstreamStatus);
      var headers = response.getHeaders();
      HeaderRules.copyResponseHeaders(serverToProxyResponse.getHeaders(), headers);
      exchange.declaredLength = headers.getLongField(HttpHeader.CONTENT_LENGTH);
      exchange.nameResponse();
      exchange.putTimingHeaders(now);
      if (upstreamStatus == 429 && !headers.contains(HttpHeader.RETRY_AFTER) && exchange.permit != null) {
        long nanos = exchange.permit.backend().nanosUntilServable(now, exchange.estimatedTokens);
        headers.put(HttpHeader.RETRY_AFTER, Long.toString(Waits.retryAfterSeconds(nanos)));
      }
      sniffer = UsageSniffer.forContentType(jsonFactory, upstreamHeaders.get(HttpHeader.CONTENT_TYPE));
      errorBody = UpstreamErrorBody.of(upstreamStatus, upstreamHeaders,
          exchange.clientToProxyRequest.getMethod()).orElse(null);
      if (exchange.stripUsageEvent && upstreamStatus / 100 == 2 && sniffer instanceof UsageSniffer.EventStream events) {
        usageStrip = new UsageEventStrip(events);
        // The caller gets fewer bytes than the upstream sent.
        headers.remove(HttpHeader.CONTENT_LENGTH);
        exchange.declaredLength = -1;
      }
    }

    /**
     * A shaped request may go again while attempts and the deadline allow; one sent beyond the rate (queue-full
     * passthrough) is never put back in the queue it skipped, and one the upstream refused credentials for goes
     * again only if another backend (with another key) may take it. After a failure the pool's retry budget must
     * allow it too; after a 429 it need not: it waits for a backend's token like any request (and for the
     * upstream's {@code Retry-After}), so it cannot add load beyond the configured rates.
     *
     * @param status the upstream's status, 0 when it failed without one
     * @param waitNanos how long the upstream asked to wait
     */
    private boolean mayRetry(int status, long waitNanos) {
      Dispatcher dispatcher = exchange.dispatcher;
      boolean credentialsRefused = status == 401;
      return dispatcher != null && exchange.permit != null && !exchange.permit.unshaped() && !exchange.clientGone
          && exchange.attempts < exchange.pool.map(Pool::maxAttempts).orElse(1)
          // A wait the deadline cannot cover only matters when no other backend can answer instead.
          && (clock.nanoTime() + waitNanos < exchange.deadlineNanos || dispatcher.hasUntriedInService(exchange))
          && (!credentialsRefused || exchange.permit.backend().apiKey().isPresent()
              && dispatcher.hasUntriedInService(exchange))
          && (status == 429 || dispatcher.tryRetry());
    }

    @Override
    public void onContent(Response serverToProxyResponse, Content.Chunk chunk, Runnable demander) {
      ByteBuffer content = chunk.getByteBuffer();
      if (quotaErrorBody != null) {
        quotaErrorBody.take(content);
      }
      if (retrying) {
        // The 429's body is not the caller's: read and drop it, keeping the connection reusable.
        demander.run();
        return;
      }
      if (errorBody != null) {
        if (errorBody.hold(content)) {
          demander.run();
          return;
        }
        // A JSON error too long to check: what was held goes now, and the rest streams as it comes.
        ByteBuffer held = errorBody.held();
        errorBody = null;
        writeToCaller(serverToProxyResponse, held, () -> { }, demander, null);
        return;
      }
      if (usageStrip != null) {
        relayWithoutUsageEvent(serverToProxyResponse, chunk, demander);
        return;
      }
      sniffer.accept(content);
      chunk.retain();
      writeToCaller(serverToProxyResponse, content, chunk::release, demander, null);
    }

    /**
     * Relays a chunk of a stream whose usage event is to be removed: the parts of it that go to the caller, one
     * write after the other. Once the event is gone the stream goes on as any other.
     */
    private void relayWithoutUsageEvent(Response serverToProxyResponse, Content.Chunk chunk, Runnable demander) {
      UsageEventStrip strip = usageStrip;
      int parts = strip.plan(chunk.getByteBuffer());
      if (strip.removed()) {
        usageStrip = null;
      }
      if (parts == 0) {
        demander.run();
        return;
      }
      chunk.retain();
      writePart(serverToProxyResponse, strip, 0, parts, chunk::release, demander);
    }

    private void writePart(Response serverToProxyResponse, UsageEventStrip strip, int index, int parts,
        Runnable release, Runnable demander) {
      Runnable next = index + 1 == parts ? null
          : () -> writePart(serverToProxyResponse, strip, index + 1, parts, release, demander);
      writeToCaller(serverToProxyResponse, strip.part(index), release, demander, next);
    }

    /**
     * Writes {@code content}. Its success writes the next part with {@code thenWrite} if there is one (the write is
     * not over yet); else it runs {@code release} and demands the next chunk.
     */
    private void writeToCaller(Response serverToProxyResponse, ByteBuffer content, Runnable release,
        Runnable demander, Runnable thenWrite) {
      int length = content.remaining();
      exchange.responseBytes += length;
      synchronized (this) {
        writing = true;
      }
      exchange.proxyToClientResponse.write(false, content, new Callback() {
        @Override
        public void succeeded() {
          exchange.deliveredBytes += length;
          if (thenWrite != null) {
            thenWrite.run();
            return;
          }
          release.run();
          if (!afterWriteRan()) {
            demander.run();
          }
        }

        @Override
        public void failed(Throwable failure) {
          release.run();
          exchange.clientGone = true;
          if (!afterWriteRan()) {
            // Cannot write towards the caller: abort towards the upstream.
            serverToProxyResponse.abort(failure);
          }
        }

        @Override
        public InvocationType getInvocationType() {
          return InvocationType.NON_BLOCKING;
        }
      });
    }

    /** Marks the write done; runs and reports an action that was waiting for it. */
    private boolean afterWriteRan() {
      Runnable action;
      synchronized (this) {
        writing = false;
        action = afterWrite;
        afterWrite = null;
      }
      if (action != null) {
        action.run();
        return true;
      }
      return false;
    }

    /** Runs {@code action} now, or after the write in flight completes, so two writes never overlap. */
    private void whenNotWriting(Runnable action) {
      synchronized (this) {
        if (writing) {
          afterWrite = action;
          return;
        }
      }
      action.run();
    }

    @Override
    public void onSuccess(Response serverToProxyResponse) {
      if (retrying) {
        return;
      }
      var response = exchange.proxyToClientResponse;
      if (errorBody == null) {
        ByteBuffer rest = heldOfStream();
        exchange.responseBytes += rest.remaining();
        response.write(true, rest, this);
      } else if (errorBody.relayable(jsonFactory)) {
        // The caller never saw the backend's key: a provider's error that repeats it must not show it either.
        if (backendKey != null && errorBody.mask(backendKey)) {
          response.getHeaders().remove(HttpHeader.CONTENT_LENGTH);
          exchange.declaredLength = -1;
        }
        ByteBuffer held = errorBody.held();
        exchange.responseBytes += held.remaining();
        response.write(true, held, this);
      } else {
        // The upstream's headers stay (Retry-After, its request id); those describing its body go with it.
        response.getHeaders().remove(HttpHeader.CONTENT_HEADERS);
        exchange.declaredLength = -1;
        String sentCredentials = backendKey != null ? backendKey : callerCredentials();
        exchange.responseBytes += errorBody.replacement(upstreamName(), sentCredentials).write(response, this);
      }
    }

    /**
     * What is still held of a stream whose usage event is being removed, at its end: the start of an event the
     * upstream did not finish (unless it is the usage event); else nothing.
     */
    private ByteBuffer heldOfStream() {
      UsageEventStrip strip = usageStrip;
      usageStrip = null;
      return strip == null ? BufferUtil.EMPTY_BUFFER : strip.endOfStream();
    }

    /** The credentials of the caller's {@code Authorization}, which went upstream when the backend has no key. */
    private String callerCredentials() {
      String authorization = exchange.clientToProxyRequest.getHeaders().get(HttpHeader.AUTHORIZATION);
      return authorization == null ? null : authorization.substring(authorization.indexOf(' ') + 1).strip();
    }

    @Override
    public void onComplete(Result result) {
      exchange.upstreamRequest = null;
      var deadline = firstByteDeadline;
      if (deadline != null) {
        deadline.cancel();
      }
      Attempt attempt;
      if (upstreamStatus > 0) {
        attempt = new Attempt(upstreamStatus, upstreamRetryAfterNanos, upstreamRateHeaders);
        if (quotaErrorBody != null && quotaErrorBody.matches(exchange.pool.get().quotaErrors().patterns())) {
          attempt = attempt.asQuotaError();
          LOG.info("{} backend {} answered {}, the provider's quota error: its budget is spent", exchange.requestId,
              exchange.permit.backend().id(), upstreamStatus);
        }
        if (!retrying) {
          exchange.usage = usageOf(upstreamStatus);
          if (exchange.usage.isPresent()) {
            attempt = attempt.withUsage(exchange.usage.get().totalTokens(), exchange.usage.get().estimated());
          }
        }
      } else {
        attempt = Attempt.failed(exchange.clientGone || result.getFailure() == null ? Attempt.Failure.CANCELLED
            : failureOf(result.getFailure()));
        // Nothing reached the caller: another backend may answer instead.
        retrying = attempt.upstreamFailed() && !exchange.proxyToClientResponse.isCommitted() && mayRetry(0, 0);
      }
      if (exchange.permit != null && LOG.isDebugEnabled()) {
        LOG.atDebug().addKeyValue("request_id", exchange.requestId)
            .addKeyValue("backend", exchange.permit.backend().id())
            .addKeyValue("estimated_tokens", exchange.estimatedTokens).addKeyValue("attempt", attempt)
            .log("attempt released");
      }
      releasePermit(exchange, attempt);
      if (retrying) {
        exchange.upstreamWaitNanos += clock.nanoTime() - exchange.sentNanos; // the failed attempt, body included
        exchange.permit = null;
        exchange.retried(upstreamStatus > 0 ? Integer.toString(upstreamStatus)
            : attempt.failure().name().toLowerCase(Locale.ROOT));
        if (exchange.clientGone) {
          exchange.proxyToClientCallback.failed(new EOFException("caller went away"));
          finish(exchange, 0, Failure.CLIENT_DISCONNECTED);
        } else {
          if (LOG.isDebugEnabled()) {
            LOG.debug("{} attempt {} failed ({}): going again", exchange.requestId, exchange.attempts,
                upstreamStatus > 0 ? "status " + upstreamStatus : attempt.failure().name());
          }
          exchange.enterQueue(clock.nanoTime());
          // A 429's backend holds itself back for as long as the upstream asked; after other failures the next
          // attempt waits a little, jittered, so that retries of many requests do not arrive together.
          boolean rateLimited = upstreamStatus == 429;
          exchange.dispatcher.requeue(exchange, rateLimited ? 0 : retryJitterNanos(exchange.attempts), !rateLimited);
          if (exchange.clientGone) { // the caller left while this went back in, unseen by callerLeft
            callerLeft(exchange, new EOFException("caller went away"));
          }
        }
        return;
      }
      if (result.isSucceeded()) {
        whenComplete((ignored, failure) -> {
          if (failure == null) {
            exchange.proxyToClientCallback.succeeded();
            finish(exchange, exchange.proxyToClientResponse.getStatus(), Failure.NONE);
          } else {
            exchange.proxyToClientCallback.failed(failure);
            finish(exchange, exchange.proxyToClientResponse.getStatus(), departure());
          }
        });
      } else {
        whenNotWriting(() -> onServerToProxyFailure(result.getFailure()));
      }
    }

    /**
     * What the answer used: the usage the upstream reported, whatever the status; else, for a 2xx answer, an
     * estimate (see {@link TokenEstimate}) of the prompt sent and of the text relayed so far, also when the answer
     * was cut short; else none (providers do not bill what they refused).
     */
    private Optional<Usage> usageOf(int status) {
      Optional<Usage> reported = sniffer.usage();
      if (reported.isPresent() || status / 100 != 2) {
        return reported;
      }
      return TokenEstimate.usage(exchange.promptTokensEstimate, sniffer.completionEstimate());
    }

    private void onServerToProxyFailure(Throwable failure) {
      var response = exchange.proxyToClientResponse;
      var callback = exchange.proxyToClientCallback;
      if (exchange.clientGone) {
        callback.failed(failure);
        finish(exchange, response.getStatus(), departure());
        return;
      }
      if (!response.isCommitted()) {
        if (upstreamStatus == 0) { // waited for an upstream that never answered
          exchange.upstreamWaitNanos += clock.nanoTime() - exchange.sentNanos;
        }
        response.reset();
        OpenAiError error = classify(failure);
        long retryAfterSeconds = 0;
        if (error.status() == 503) {
          // Sluice's own 503, as every other: when to come back, and the pool's state if there is a pool.
          retryAfterSeconds = 1;
          if (exchange.dispatcher != null) {
            exchange.putLimitHeaders(exchange.dispatcher.refusal(error.status(), error.code(), error.message(),
                TimeUnit.SECONDS.toNanos(retryAfterSeconds)));
          }
        }
        reject(exchange, error, retryAfterSeconds, error.status() == 504 ? Failure.UPSTREAM_TIMEOUT
            : "upstream_connect_failed".equals(error.code()) ? Failure.UPSTREAM_CONNECT : Failure.UPSTREAM_ERROR);
        return;
      }
      if (isCause(failure, TimeoutException.class)) {
        // Silence mid-stream: end the response as cleanly as its framing allows.
        ByteBuffer rest = heldOfStream();
        exchange.responseBytes += rest.remaining();
        finish(exchange, response.getStatus(), Failure.UPSTREAM_TIMEOUT);
        response.write(true, rest, callback);
        return;
      }
      callback.failed(failure);
      finish(exchange, response.getStatus(), Failure.UPSTREAM_ERROR);
    }

    private String upstreamName() {
      return exchange.upstreamBase.getHost()
          + (exchange.upstreamBase.getPort() > 0 ? ":" + exchange.upstreamBase.getPort() : "");
    }

    /** A caller gone once it had the whole answer was served; one gone before that hung up. */
    private Failure departure() {
      return exchange.callerHasWholeAnswer() ? Failure.NONE : Failure.CLIENT_DISCONNECTED;
    }

    private OpenAiError classify(Throwable failure) {
      String upstream = upstreamName();
      if (isCause(failure, FirstByteTimeoutException.class)) {
        return new OpenAiError(504, "upstream_error", "upstream_timeout", "The upstream " + upstream
            + " sent no response headers within the pool's first-byte timeout ("
            + exchange.pool.map(Pool::firstByteTimeoutMillis).orElse(0L) / 1000.0 + " s).");
      }
      if (isCause(failure, TimeoutException.class)) {
        return new OpenAiError(504, "upstream_error", "upstream_timeout",
            "The upstream " + upstream + " did not answer within " + timeoutMillis / 1000 + " s.");
      }
      if (isConnectFailure(failure)) {
        return new OpenAiError(502, "upstream_error", "upstream_connect_failed",
            "Could not connect to the upstream " + upstream + ".");
      }
      if (isCause(failure, RejectedExecutionException.class)) {
        return new OpenAiError(503, "upstream_error", "upstream_overloaded",
            "Too many requests are waiting for a connection to the upstream " + upstream + ".");
      }
      return new OpenAiError(502, "upstream_error", "upstream_failed",
          "The upstream " + upstream + " failed before answering.");
    }
  }

  /**
   * Whether an upstream status before the first byte is worth another attempt: 429, 401 (a backend's key refused:
   * another key may serve), and 5xx but 501. Not 403: providers also send it for a model or a region a key may not
   * use, and failing such a request over would take one backend after another out of service.
   */
  private static boolean retryable(int status) {
    return status == 429 || status == 401 || status >= 500 && status != 501;
  }

  /** What an attempt that got no answer tells about its upstream. */
  private static Attempt.Failure failureOf(Throwable failure) {
    if (isCause(failure, RejectedExecutionException.class)) {
      return Attempt.Failure.CANCELLED; // Sluice's own client was full: nothing to do with the upstream
    }
    if (isCause(failure, TimeoutException.class)) {
      return Attempt.Failure.TIMEOUT;
    }
    if (isConnectFailure(failure)) {
      return Attempt.Failure.CONNECT;
    }
    return Attempt.Failure.RESET;
  }

  /**
   * A random wait before attempt {@code attemptsMade + 1} after a failure: "full jitter" between 0 and 50 ms ×
   * 2^(attempts - 1), at most 1 s.
   */
  static long retryJitterNanos(int attemptsMade) {
    long ceiling = Math.min(TimeUnit.SECONDS.toNanos(1),
        TimeUnit.MILLISECONDS.toNanos(50) << Math.min(10, Math.max(0, attemptsMade - 1)));
    return ThreadLocalRandom.current().nextLong(ceiling + 1);
  }

  /** No connection could be made: refused, unreachable, unresolvable, or not in time. */
  private static boolean isConnectFailure(Throwable failure) {
    return isCause(failure, ConnectException.class) || isCause(failure, UnresolvedAddressException.class)
        || isCause(failure, UnknownHostException.class) || isCause(failure, NoRouteToHostException.class)
        || isCause(failure, SocketTimeoutException.class);
  }

  private static boolean isCause(Throwable failure, Class<? extends Throwable> type) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (type.isInstance(t)) {
        return true;
      }
    }
    return false;
  }
}
