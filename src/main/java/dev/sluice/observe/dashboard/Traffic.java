package dev.sluice.observe.dashboard;

import dev.sluice.backend.Outcome;
import dev.sluice.backend.OutcomeListener;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per-second traffic counts for the dashboard, per pool and per backend, fed by every finished request. Sluice's own
 * 429s (a waiter that waited too long) are told apart from upstream 429s the caller received after retries ran out.
 *
 * <p>Thread-safe and cheap on the request path: one map look-up per key and a few {@link LongAdder} increments,
 * no lock. {@link #drain} is called by the dashboard's one snapshot builder; an outcome that races with it lands in
 * one second or the next, never in both and never nowhere.
 */
public final class Traffic implements OutcomeListener {
  /** Key of the counts of requests that matched no pool and went to the default upstream unshaped. */
  static final String PASSTHROUGH = "passthrough";

  private final Map<String, Counts> pools = new ConcurrentHashMap<>();
  private final Map<String, Counts> backends = new ConcurrentHashMap<>();

  @Override
  public void onOutcome(Outcome outcome) {
    if (outcome.failure() == Outcome.Failure.REJECTED) {
      return; // malformed requests belong to no pool and say nothing about the traffic being shaped
    }
    Optional<String> pool = outcome.pool();
    Optional<String> backend = outcome.backendId();
    if (pool.isPresent()) {
      counts(pools, pool.get()).add(outcome, true);
      if (backend.isPresent() && !backend.get().equals(PASSTHROUGH)) {
        counts(backends, backend.get()).add(outcome, false);
      }
    } else if (backend.isPresent()) {
      counts(pools, PASSTHROUGH).add(outcome, false);
    }
  }

  private static Counts counts(Map<String, Counts> map, String key) {
    Counts counts = map.get(key);
    return counts != null ? counts : map.computeIfAbsent(key, k -> new Counts());
  }

  /** Takes the counts of a pool ({@link #PASSTHROUGH} for unshaped traffic) since the last drain, and resets them. */
  Second drainPool(String pool) {
    return drain(pools, pool);
  }

  /** Takes the counts of a backend since the last drain, and resets them. */
  Second drainBackend(String backend) {
    return drain(backends, backend);
  }

  private static Second drain(Map<String, Counts> map, String key) {
    Counts counts = map.get(key);
    return counts == null ? Second.EMPTY : counts.drain();
  }

  /**
   * One period's counts.
   *
   * @param ok 2xx answers
   * @param clientError 4xx answers other than 429
   * @param limitedBySluice 429s Sluice answered itself (waited too long, or every backend at its limit)
   * @param limitedUpstream 429s the upstream answered and the caller received
   * @param serverError 5xx answers, Sluice's own 503s included
   * @param queueFull 503s Sluice answered itself (queue full, evicted, shutting down)
   * @param waited requests that waited in the queue (every shaped one)
   * @param waitNanosSum their waits added up
   * @param waitNanosMax the longest of their waits
   */
  record Second(long ok, long clientError, long limitedBySluice, long limitedUpstream, long serverError,
      long queueFull, long waited, long waitNanosSum, long waitNanosMax) {
    static final Second EMPTY = new Second(0, 0, 0, 0, 0, 0, 0, 0, 0);
  }

  private static final class Counts {
    final LongAdder ok = new LongAdder();
    final LongAdder clientError = new LongAdder();
    final LongAdder limitedBySluice = new LongAdder();
    final LongAdder limitedUpstream = new LongAdder();
    final LongAdder serverError = new LongAdder();
    final LongAdder queueFull = new LongAdder();
    final LongAdder waited = new LongAdder();
    final LongAdder waitNanosSum = new LongAdder();
    final AtomicLong waitNanosMax = new AtomicLong();

    void add(Outcome outcome, boolean queued) {
      int status = outcome.status();
      if (status == 429) {
        (outcome.failure() == Outcome.Failure.RATE_LIMITED ? limitedBySluice : limitedUpstream).increment();
      } else if (status >= 200 && status < 300) {
        ok.increment();
      } else if (status >= 400 && status < 500) {
        clientError.increment();
      } else if (status >= 500) {
        serverError.increment();
      }
      if (outcome.failure() == Outcome.Failure.QUEUE_FULL) {
        queueFull.increment();
      }
      if (queued) {
        long wait = outcome.queueNanos();
        waited.increment();
        waitNanosSum.add(wait);
        if (wait > waitNanosMax.get()) {
          waitNanosMax.accumulateAndGet(wait, Math::max);
        }
      }
    }

    Second drain() {
      return new Second(ok.sumThenReset(), clientError.sumThenReset(), limitedBySluice.sumThenReset(),
          limitedUpstream.sumThenReset(), serverError.sumThenReset(), queueFull.sumThenReset(),
          waited.sumThenReset(), waitNanosSum.sumThenReset(), waitNanosMax.getAndSet(0));
    }
  }
}
