package dev.sluice.sim;

import java.util.concurrent.atomic.LongAdder;

/** The counters behind {@link SimStats}. Thread-safe: each is a {@link LongAdder}. */
final class Counters {
  final LongAdder accepted = new LongAdder();
  final LongAdder rejectedByRate = new LongAdder();
  final LongAdder rejectedByConcurrency = new LongAdder();
  final LongAdder rejectedByTokens = new LongAdder();
  final LongAdder unauthorized = new LongAdder();
  final LongAdder serverErrors = new LongAdder();
  final LongAdder resets = new LongAdder();
  final LongAdder stalls = new LongAdder();
  final LongAdder clientDisconnects = new LongAdder();
  final LongAdder acceptedTokens = new LongAdder();

  void rejected(Admission.Verdict verdict) {
    switch (verdict) {
      case RATE -> rejectedByRate.increment();
      case TOKENS -> rejectedByTokens.increment();
      case CONCURRENCY -> rejectedByConcurrency.increment();
      case ACCEPTED -> throw new IllegalArgumentException("not a refusal: " + verdict);
    }
  }

  SimStats snapshot(int inFlight) {
    long byRate = rejectedByRate.sum();
    long byConcurrency = rejectedByConcurrency.sum();
    long byTokens = rejectedByTokens.sum();
    return new SimStats(accepted.sum(), byRate + byConcurrency + byTokens, byRate, byConcurrency, byTokens,
        unauthorized.sum(), serverErrors.sum(), resets.sum(), stalls.sum(), clientDisconnects.sum(), inFlight,
        acceptedTokens.sum());
  }

  void reset() {
    for (LongAdder adder : new LongAdder[] {accepted, rejectedByRate, rejectedByConcurrency, rejectedByTokens,
        unauthorized, serverErrors, resets, stalls, clientDisconnects, acceptedTokens}) {
      adder.reset();
    }
  }
}
