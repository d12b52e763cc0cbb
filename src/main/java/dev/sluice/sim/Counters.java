package dev.sluice.sim;

import java.util.concurrent.atomic.LongAdder;

/** The counters behind {@link SimStats}. Thread-safe: each is a {@link LongAdder}. */
final class Counters {
  final LongAdder accepted = new LongAdder();
  final LongAdder rejected429 = new LongAdder();
  final LongAdder rejectedByRate = new LongAdder();
  final LongAdder rejectedByConcurrency = new LongAdder();
  final LongAdder rejectedByTokens = new LongAdder();
  final LongAdder rejectedTooLarge = new LongAdder();
  final LongAdder rejectedByQuota = new LongAdder();
  final LongAdder unauthorized = new LongAdder();
  final LongAdder serverErrors = new LongAdder();
  final LongAdder resets = new LongAdder();
  final LongAdder stalls = new LongAdder();
  final LongAdder clientDisconnects = new LongAdder();
  final LongAdder acceptedTokens = new LongAdder();

  /** Counts a refusal of {@code verdict}'s kind answered with {@code status}. */
  void rejected(Admission.Verdict verdict, int status) {
    switch (verdict) {
      case RATE -> rejectedByRate.increment();
      case TOKENS -> rejectedByTokens.increment();
      case TOO_LARGE -> rejectedTooLarge.increment();
      case CONCURRENCY -> rejectedByConcurrency.increment();
      case QUOTA -> rejectedByQuota.increment();
      case ACCEPTED -> throw new IllegalArgumentException("not a refusal: " + verdict);
    }
    if (status == 429) {
      rejected429.increment();
    }
  }

  SimStats snapshot(int inFlight, long tokensLastMinute, long budgetWindowTokens) {
    return new SimStats(accepted.sum(), rejected429.sum(), rejectedByRate.sum(), rejectedByConcurrency.sum(),
        rejectedByTokens.sum(), rejectedTooLarge.sum(), rejectedByQuota.sum(), unauthorized.sum(), serverErrors.sum(),
        resets.sum(), stalls.sum(), clientDisconnects.sum(), inFlight, acceptedTokens.sum(), tokensLastMinute,
        budgetWindowTokens);
  }

  void reset() {
    for (LongAdder adder : new LongAdder[] {accepted, rejected429, rejectedByRate, rejectedByConcurrency,
        rejectedByTokens, rejectedTooLarge, rejectedByQuota, unauthorized, serverErrors, resets, stalls,
        clientDisconnects, acceptedTokens}) {
      adder.reset();
    }
  }
}
