package dev.sluice.proxy;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Outcome;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Pool;
import dev.sluice.backend.Priority;
import dev.sluice.http.OpenAiError;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.schedule.Rejection;
import dev.sluice.schedule.Waiter;
import dev.sluice.time.Waits;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One caller's request on its way through Sluice: the caller's legs, what the ingress learned about it, where it
 * is in its life (queued, sent, retried) and the timings that end up in its {@link Outcome}. The ingress fills it
 * before routing; afterwards the dispatcher and the relay's serialized Jetty callbacks take turns with it (one
 * attempt at a time), and {@link Forwarder#finish} ends it once.
 */
final class Exchange implements Waiter {
  private static final long NOT_QUEUED = Long.MIN_VALUE;
  final Request clientToProxyRequest;
  final Response proxyToClientResponse;
  final Callback proxyToClientCallback;
  final String requestId;
  final long arrivalNanos;
  final long deadlineNanos;
  final Priority priority;
  final Forwarder forwarder;
  String model;
  boolean stream;
  Optional<Pool> pool = Optional.empty();
  /** The dispatcher whose queue it is in or came from: its pool's, or a fallback pool's after a move. */
  volatile Dispatcher dispatcher;
  /** When it joined its dispatcher's queue (see {@link Waiter#enteredPoolNanos}). */
  long enteredPoolNanos;
  /** Backends its attempts went to, in order. */
  private final List<Backend> tried = new ArrayList<>(2);
  /** The emergency upstream of a pool it moved away from, if any. */
  private Optional<URI> inheritedEmergency = Optional.empty();
  /** Sent to an emergency upstream: no pool could serve it in time. */
  boolean emergency;
  /** What each retried attempt got (see {@link Outcome#retried}). */
  List<String> retried = List.of();
  /** The permit of the attempt in progress, if it was shaped. */
  Permit permit;
  URI upstreamBase;
  /** The path sent upstream when it is not the caller's (a model id with its prefix stripped), else null. */
  String upstreamPath;
  byte[] body;
  int bodyLength;
  int attempts;
  /** Prompt estimate plus the completion it may take: reserved of a tokens-per-minute budget before sending. */
  long estimatedTokens;
  /** The prompt's share of {@link #estimatedTokens}, from the size of the body sent; 0 for passthrough. */
  long promptTokensEstimate;
  /**
   * Sluice asked the upstream for the stream's usage ({@code stream_options.include_usage}) on the caller's behalf:
   * the usage event is removed from the stream before the caller sees it.
   */
  boolean stripUsageEvent;
  /** Whether the request went through its pool's queue (then its answer says how long it waited there). */
  boolean queued;
  /** When its stay in the queue began, or {@link #NOT_QUEUED} while it is not in one. */
  long queuedSinceNanos = NOT_QUEUED;
  /** Time spent in the queue, every stay added up. */
  long queueNanos;
  /** Time spent waiting for upstreams: each attempt's until its answer's headers, or its end if it had none. */
  long upstreamWaitNanos;
  /** The answered attempt's time from sending to the upstream's response headers. */
  long firstByteNanos;
  /** What {@link #putTimingHeaders} told the caller Sluice added. */
  long overheadNanos;
  long sentNanos;
  long responseBytes;
  /** The answer's {@code Content-Length} as relayed to the caller, or -1 when it has none (yet). */
  volatile long declaredLength = -1;
  /** Body bytes the caller's connection took: written by write callbacks, which run one at a time. */
  volatile long deliveredBytes;
  Optional<Outcome.Usage> usage = Optional.empty();
  /** The upstream request of the attempt in progress, aborted if the caller goes away. */
  volatile org.eclipse.jetty.client.Request upstreamRequest;
  volatile boolean clientGone;
  boolean finished;

  Exchange(Request request, Response response, Callback callback, String requestId, long arrivalNanos,
      long deadlineNanos, Priority priority, Forwarder forwarder) {
    this.clientToProxyRequest = request;
    this.proxyToClientResponse = response;
    this.proxyToClientCallback = callback;
    this.requestId = requestId;
    this.arrivalNanos = arrivalNanos;
    this.deadlineNanos = deadlineNanos;
    this.priority = priority;
    this.forwarder = forwarder;
  }

  @Override
  public Priority priority() {
    return priority;
  }

  @Override
  public long arrivalNanos() {
    return arrivalNanos;
  }

  @Override
  public long deadlineNanos() {
    return deadlineNanos;
  }

  @Override
  public void dispatch(Permit granted) {
    permit = granted;
    upstreamBase = granted.backend().baseUrl();
    tried.add(granted.backend());
    forwarder.forward(this);
  }

  @Override
  public long enteredPoolNanos() {
    return enteredPoolNanos;
  }

  @Override
  public long estimatedTokens() {
    return estimatedTokens;
  }

  @Override
  public int attempts() {
    return attempts;
  }

  @Override
  public boolean triedBackend(Backend backend) {
    return tried.contains(backend);
  }

  @Override
  public void movedTo(Dispatcher fallback, Optional<URI> emergencyUpstream, long nowNanos) {
    dispatcher = fallback;
    enteredPoolNanos = nowNanos;
    inheritedEmergency = inheritedEmergency.or(() -> emergencyUpstream);
  }

  @Override
  public Optional<URI> inheritedEmergencyUpstream() {
    return inheritedEmergency;
  }

  @Override
  public void sendToEmergency(URI upstream) {
    permit = null;
    emergency = true;
    upstreamBase = upstream;
    forwarder.forwardToEmergency(this);
  }

  /** An attempt failed with {@code what} and the request goes again. */
  void retried(String what) {
    if (retried.isEmpty()) {
      retried = new ArrayList<>(2);
    }
    retried.add(what);
  }

  /** The pool that served or refused it: its own, or the fallback pool it moved to; empty for passthrough. */
  Optional<String> poolName() {
    Dispatcher current = dispatcher;
    return current != null ? Optional.of(current.pool()) : pool.map(Pool::name);
  }

  @Override
  public void reject(Rejection rejection) {
    putLimitHeaders(rejection);
    forwarder.reject(this, new OpenAiError(rejection.status(),
        rejection.status() == 429 ? "rate_limit_error" : "server_error", rejection.code(), rejection.message()),
        rejection.retryAfterSeconds(), rejection.status() == 429 ? Outcome.Failure.RATE_LIMITED
            : Outcome.Failure.QUEUE_FULL);
  }

  /** The headers providers send with a 429, so that an SDK or agent backs off from Sluice as from the provider. */
  void putLimitHeaders(Rejection rejection) {
    var headers = proxyToClientResponse.getHeaders();
    headers.put("x-ratelimit-limit-requests", Long.toString(rejection.limitRpm()));
    headers.put("x-ratelimit-remaining-requests", Long.toString(rejection.remaining()));
    headers.put("x-ratelimit-reset-requests", Waits.goDuration(rejection.waitNanos()));
  }

  /** The request joins its pool's queue at {@code nowNanos}, the first time or again after an upstream 429. */
  void enterQueue(long nowNanos) {
    queued = true;
    queuedSinceNanos = nowNanos;
    enteredPoolNanos = nowNanos;
  }

  /** The request leaves the queue at {@code nowNanos}, sent upstream or answered by Sluice; no-op if not in it. */
  void leaveQueue(long nowNanos) {
    if (queuedSinceNanos != NOT_QUEUED) {
      queueNanos += nowNanos - queuedSinceNanos;
      queuedSinceNanos = NOT_QUEUED;
    }
  }

  /** Stamps the answer, whose headers go at {@code nowNanos}, with the time Sluice added and the queue wait. */
  void putTimingHeaders(long nowNanos) {
    leaveQueue(nowNanos);
    overheadNanos = Math.max(0, nowNanos - arrivalNanos - queueNanos - upstreamWaitNanos);
    var headers = proxyToClientResponse.getHeaders();
    TimingHeaders.putOverhead(headers, overheadNanos);
    if (queued) {
      TimingHeaders.putQueue(headers, queueNanos);
    }
  }

  /** Names the answer to the caller by this request's id; the upstream may not override it. */
  void nameResponse() {
    proxyToClientResponse.getHeaders().put(RequestIds.RESPONSE_HEADER, requestId);
  }

  /**
   * Whether the caller has the whole answer: every byte of a declared {@code Content-Length} was written. A caller
   * that closes as soon as it has read them (most clients do) has not hung up on anything.
   */
  boolean callerHasWholeAnswer() {
    long declared = declaredLength;
    return declared > 0 && deliveredBytes == declared;
  }

  /**
   * Backend id for logs: the permit's backend, {@code emergency}, {@code passthrough}, or empty when nothing went
   * upstream.
   */
  Optional<String> backendLabel() {
    if (permit != null) {
      return Optional.of(permit.backend().id());
    }
    if (!tried.isEmpty() && !emergency) { // its last attempt failed and it ended back in the queue
      return Optional.of(tried.getLast().id());
    }
    if (emergency) {
      return Optional.of("emergency");
    }
    return upstreamBase == null ? Optional.empty() : Optional.of("passthrough");
  }
}
