package dev.sluice.sim;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.sim.CallRequest.Endpoint;
import dev.sluice.sim.Faults.Fault;
import dev.sluice.sim.Generation.Shape;
import dev.sluice.time.Clock;
import dev.sluice.time.Waits;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;

/**
 * The model-call pipeline of chat completions, completions and embeddings: the override headers are read, the body
 * parsed ({@link CallRequest}, its completion's length chosen by {@link CompletionLengths}), forced answers given
 * ({@link OverrideAnswers}), then the call is checked against the {@link Limits}; once admitted it draws its fault
 * and the jitter of its time to first token ({@link Faults}), waits for that time and answers, whole or streamed; a
 * refused call is answered at once (429, or the quota error). Thread-safe: the config is read once per call;
 * limits, faults, lengths, counters and the sequence guard themselves.
 */
final class ModelCalls {
  private final LiveConfig config;
  private final Limits limits;
  private final Faults faults;
  private final Counters counters;
  private final Clock clock;
  private final ObjectMapper mapper;
  private final OverrideAnswers overrideAnswers;
  private final Pauses pauses;
  private final Replies replies;
  private final EventStream eventStream;
  private final Stalls stalls;
  private final CompletionLengths lengths;
  private final AtomicLong sequence = new AtomicLong();

  ModelCalls(LiveConfig config, Limits limits, Counters counters, Clock clock, ObjectMapper mapper,
      OverrideAnswers overrideAnswers, Pauses pauses, Replies replies, EventStream eventStream, Stalls stalls) {
    this.config = config;
    this.limits = limits;
    this.faults = new Faults(config.current().seed());
    this.lengths = new CompletionLengths(config.current().seed());
    this.counters = counters;
    this.clock = clock;
    this.mapper = mapper;
    this.overrideAnswers = overrideAnswers;
    this.pauses = pauses;
    this.replies = replies;
    this.eventStream = eventStream;
    this.stalls = stalls;
  }

  void answer(Endpoint endpoint, Request request, Response response, byte[] body) throws IOException {
    SimConfig c = config.current();
    Overrides overrides = overrideAnswers.readOrRefuse(request, response);
    if (overrides == null) {
      return;
    }
    CallRequest call;
    try {
      call = CallRequest.parse(endpoint, body, mapper, overrides, c, lengths);
    } catch (IllegalArgumentException e) {
      replies.invalidRequest(response, e.getMessage());
      return;
    }
    // Forced answers are not admitted calls: they wait the delay without jitter and draw nothing.
    long forcedTtftMillis = overrides.ttftMillis() >= 0 ? overrides.ttftMillis() : c.ttftMillis();
    if (overrideAnswers.answered(request, response, overrides, forcedTtftMillis)) {
      return;
    }
    Admission admission = limits.tryAdmit(clock.nanoTime(), call.model(), call.totalTokens());
    if (!admission.accepted()) {
      refuse(response, admission, c);
      return;
    }
    counters.accepted.increment();
    counters.acceptedTokens.add(call.totalTokens());
    try (Slot slot = new Slot(limits)) {
      Response toClient = slot.releasedByLastWrite(request, response);
      long n = sequence.incrementAndGet();
      List<Map.Entry<String, String>> headers = new ArrayList<>(admission.headers());
      headers.add(Map.entry("x-request-id", "req-sim-" + n));
      Faults.Draw draw = faults.draw(c, call.stream(), overrides.forcedStall());
      Fault fault = draw.fault();
      // X-Sim-Ttft-Ms replaces the configured delay and its jitter (drawn all the same, so the calls after this
      // one get the delays they would get without the header)
      long ttftMillis = overrides.ttftMillis() >= 0 ? overrides.ttftMillis() : c.ttftMillis() + draw.ttftJitterMillis();
      switch (fault) {
        case ERROR -> {
          pauses.pause(ttftMillis);
          counters.serverErrors.increment();
          replies.serverError(toClient, c.errorStatus(), headers);
        }
        case RESET -> {
          pauses.pause(ttftMillis);
          counters.resets.increment();
          throw SimulatedReset.drop(request);
        }
        case STALL_FIRST_BYTE -> {
          stalls.stallBeforeHeaders(c.stallMillis());
          admitted(toClient, call, n, headers, c, ttftMillis, false);
        }
        case NONE, STALL -> admitted(toClient, call, n, headers, c, ttftMillis, fault == Fault.STALL);
      }
    }
  }

  /**
   * Answers a refused call: 429 {@code rate_limit_exceeded} for the rate limits, with {@code Retry-After} unless no
   * wait would help; for the budget, OpenAI's {@code insufficient_quota} error with the configured status, and
   * {@code Retry-After} only if configured.
   */
  private void refuse(Response response, Admission admission, SimConfig c) throws IOException {
    boolean quota = admission.verdict() == Admission.Verdict.QUOTA;
    int status = quota ? c.quotaStatus() : 429;
    counters.rejected(admission.verdict(), status);
    List<Map.Entry<String, String>> headers = new ArrayList<>(admission.headers());
    if (admission.retryAfterNanos() != Admission.NEVER && (!quota || c.quotaRetryAfter())) {
      headers.addFirst(Map.entry("Retry-After",
          Long.toString(Waits.retryAfterSeconds(admission.retryAfterNanos()))));
    }
    if (quota) {
      replies.errorWithNullParam(response, status, admission.message(), "insufficient_quota", "insufficient_quota",
          headers);
      return;
    }
    String type = switch (admission.verdict()) {
      case TOKENS, TOO_LARGE -> "tokens";
      default -> "requests";
    };
    replies.error(response, 429, admission.message(), type, "rate_limit_exceeded", headers);
  }

  /** Answers an admitted call without an error or reset: embeddings, a stream or a whole completion. */
  private void admitted(Response toClient, CallRequest call, long n, List<Map.Entry<String, String>> headers,
      SimConfig c, long ttftMillis, boolean stall) throws IOException {
    if (call.endpoint() == Endpoint.EMBEDDINGS) {
      pauses.pause(ttftMillis);
      replies.json(toClient, 200, Embeddings.body(call.model(), call.input(), call.promptTokens()), headers, stall,
          c.stallMillis());
      return;
    }
    Generation generation = new Generation(call.endpoint() == Endpoint.CHAT ? Shape.CHAT : Shape.TEXT, n,
        clock.wallTimeMillis() / 1000, call.model(), call.completionTokens(), call.finishReason(),
        call.promptTokens(), call.includeUsage());
    if (call.stream()) {
      eventStream.stream(toClient, generation, headers, ttftMillis, c.perTokenMillis(), stall, c.stallMillis());
    } else {
      pauses.pause(ttftMillis + c.perTokenMillis() * call.completionTokens());
      replies.json(toClient, 200, generation.body(), headers, stall, c.stallMillis());
    }
  }
}
