package dev.sluice.observe;

import dev.sluice.backend.Outcome;
import dev.sluice.backend.OutcomeListener;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request counters since start, fed by outcomes, and the tokens used, in all and per pool. Thread-safe: every
 * counter is a {@link LongAdder} (a pool's pair is created once, on its first usage, in a concurrent map), so the
 * request path never contends on a lock; readers see a moment's approximate sums.
 */
public final class ProxyStats implements OutcomeListener {
  private final LongAdder total = new LongAdder();
  private final LongAdder shaped = new LongAdder();
  private final LongAdder passthrough = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private final LongAdder rateLimited = new LongAdder();
  private final LongAdder queueFull = new LongAdder();
  private final LongAdder status2xx = new LongAdder();
  private final LongAdder status4xx = new LongAdder();
  private final LongAdder status5xx = new LongAdder();
  private final LongAdder upstreamConnect = new LongAdder();
  private final LongAdder upstreamTimeout = new LongAdder();
  private final LongAdder upstreamFailed = new LongAdder();
  private final LongAdder upstream5xx = new LongAdder();
  private final LongAdder clientDisconnected = new LongAdder();
  private final LongAdder promptTokens = new LongAdder();
  private final LongAdder completionTokens = new LongAdder();
  private final Map<String, Tokens> poolTokens = new ConcurrentHashMap<>();

  /** Prompt and completion tokens of one pool's requests. */
  private record Tokens(LongAdder prompt, LongAdder completion) {
    Tokens() {
      this(new LongAdder(), new LongAdder());
    }

    Map<String, Object> view() {
      Map<String, Object> m = new LinkedHashMap<>(); // in this order on every run
      m.put("prompt", prompt.sum());
      m.put("completion", completion.sum());
      return m;
    }
  }

  @Override
  public void onOutcome(Outcome outcome) {
    total.increment();
    if (outcome.failure() == Outcome.Failure.REJECTED) {
      rejected.increment();
    } else if (outcome.pool().isPresent()) {
      shaped.increment();
    } else {
      passthrough.increment();
    }
    int status = outcome.status();
    if (status >= 200 && status < 300) {
      status2xx.increment();
    } else if (status >= 400 && status < 500) {
      status4xx.increment();
    } else if (status >= 500) {
      status5xx.increment();
    }
    switch (outcome.failure()) {
      case RATE_LIMITED -> rateLimited.increment();
      case QUEUE_FULL -> queueFull.increment();
      case UPSTREAM_CONNECT -> upstreamConnect.increment();
      case UPSTREAM_TIMEOUT -> upstreamTimeout.increment();
      case UPSTREAM_ERROR -> upstreamFailed.increment();
      case CLIENT_DISCONNECTED -> clientDisconnected.increment();
      case NONE -> {
        if (status >= 500) {
          upstream5xx.increment();
        }
      }
      case REJECTED -> { }
    }
    outcome.usage().ifPresent(usage -> {
      promptTokens.add(usage.promptTokens());
      completionTokens.add(usage.completionTokens());
      if (outcome.pool().isPresent()) {
        Tokens pool = poolTokens.get(outcome.pool().get());
        if (pool == null) {
          pool = poolTokens.computeIfAbsent(outcome.pool().get(), name -> new Tokens());
        }
        pool.prompt().add(usage.promptTokens());
        pool.completion().add(usage.completionTokens());
      }
    });
  }

  /** The {@code requests} section of {@code /status}. */
  public Map<String, Object> requests() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("total", total.sum());
    m.put("shaped", shaped.sum());
    m.put("passthrough", passthrough.sum());
    m.put("rate_limited", rateLimited.sum());
    m.put("rejected_invalid", rejected.sum());
    m.put("status_2xx", status2xx.sum());
    m.put("status_4xx", status4xx.sum());
    m.put("status_5xx", status5xx.sum());
    return m;
  }

  /** The {@code errors} section of {@code /status}. */
  public Map<String, Object> errors() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("queue_full", queueFull.sum());
    m.put("upstream_connect", upstreamConnect.sum());
    m.put("upstream_timeout", upstreamTimeout.sum());
    m.put("upstream_failed", upstreamFailed.sum());
    m.put("upstream_5xx", upstream5xx.sum());
    m.put("client_disconnected", clientDisconnected.sum());
    return m;
  }

  /** The {@code tokens} section of {@code /status}: usage reported by upstreams. */
  public Map<String, Object> tokens() {
    return new Tokens(promptTokens, completionTokens).view();
  }

  /** The {@code tokens} of one pool in {@code /status}: usage reported by its backends' upstreams. */
  public Map<String, Object> tokens(String pool) {
    Tokens tokens = poolTokens.get(pool);
    return (tokens == null ? new Tokens() : tokens).view();
  }
}
