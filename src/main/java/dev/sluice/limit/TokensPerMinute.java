package dev.sluice.limit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.TokensInheritanceStrategy;
import java.time.Duration;

/**
 * A backend's tokens-per-minute budget: a bucket of {@code tpm} LLM tokens that refills continuously at
 * {@code tpm} per minute, starting full. A request reserves its estimated cost before it is sent, never more than
 * the bucket holds when full (so one large request cannot wait forever), and settles to what it really used when
 * its answer ends: the difference is given back, or charged (the bucket may then go below zero, and the requests
 * after it wait until it has refilled).
 *
 * <p>Backed by a Bucket4j bucket from a {@link BucketStore}, like {@link TokenBucket}. Never reads a clock: methods
 * take the caller's {@code nowNanos}. Thread-safe: every method holds this object's monitor.
 */
public final class TokensPerMinute {
  private final BucketStore store;
  private final String id;
  private volatile long tpm;
  private final DecisionInstant instant = new DecisionInstant();
  private Bucket bucket;

  /**
   * @param store where the bucket's state lives
   * @param id the state's key (the backend id with a suffix, apart from its request bucket)
   * @param tpm tokens per minute, ≥ 1
   */
  public TokensPerMinute(BucketStore store, String id, long tpm) {
    if (tpm < 1) {
      throw new IllegalArgumentException("tpm must be ≥ 1: " + tpm);
    }
    this.store = store;
    this.id = id;
    this.tpm = tpm;
  }

  private static BucketConfiguration configuration(long tpm) {
    return BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(tpm).refillGreedy(tpm, Duration.ofMinutes(1)).initialTokens(tpm)
            .build())
        .build();
  }

  private Bucket at(long nowNanos) {
    instant.nanos = nowNanos;
    if (bucket == null) {
      bucket = store.bucket(id, configuration(tpm), instant);
    }
    return bucket;
  }

  /** What a request estimated at {@code tokens} reserves: at most the bucket's capacity, at least 0. */
  public long costOf(long tokens) {
    return Math.max(0, Math.min(tokens, tpm));
  }

  /**
   * Nanoseconds from {@code nowNanos} until {@code cost} tokens are there (for a cost of 0: until the bucket is out of
   * any debt); 0 when they are.
   */
  public synchronized long nanosUntil(long cost, long nowNanos) {
    Bucket b = at(nowNanos);
    if (cost > 0) {
      return b.estimateAbilityToConsume(cost).getNanosToWaitForRefill();
    }
    long debt = -b.getAvailableTokens();
    return debt <= 0 ? 0 : (long) Math.ceil(debt * 60e9 / tpm);
  }

  /** Takes {@code cost} tokens at {@code nowNanos}, or says when they will be there. */
  public synchronized Admission tryReserve(long cost, long nowNanos) {
    if (cost == 0) {
      return Admission.grantedAt(nowNanos);
    }
    var probe = at(nowNanos).tryConsumeAndReturnRemaining(cost);
    return probe.isConsumed() ? Admission.grantedAt(nowNanos)
        : Admission.retryAt(nowNanos + probe.getNanosToWaitForRefill());
  }

  /**
   * Settles a reservation of {@code reserved} tokens that used {@code used}: gives back what was not used (up to a
   * full bucket) or charges the excess. Returns whether tokens were given back.
   */
  public synchronized boolean settle(long reserved, long used, long nowNanos) {
    long difference = used - reserved;
    if (difference < 0) {
      at(nowNanos).addTokens(-difference);
      return true;
    }
    if (difference > 0) {
      at(nowNanos).consumeIgnoringRateLimits(difference);
    }
    return false;
  }

  /** Tokens available at {@code nowNanos}; negative while an excess is being paid back. */
  public synchronized long available(long nowNanos) {
    return at(nowNanos).getAvailableTokens();
  }

  /** Hot change of the rate (and capacity), keeping the tokens already earned. */
  public synchronized void setTpm(long newTpm, long nowNanos) {
    if (newTpm < 1) {
      throw new IllegalArgumentException("tpm must be ≥ 1: " + newTpm);
    }
    if (newTpm == tpm) {
      return;
    }
    at(nowNanos).replaceConfiguration(configuration(newTpm), TokensInheritanceStrategy.AS_IS);
    tpm = newTpm;
  }

  public long tpm() {
    return tpm;
  }
}
