package dev.sluice.limit;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TokensInheritanceStrategy;
import java.time.Duration;

/**
 * A backend's request budget: {@code capacity} tokens that refill continuously at {@code rateRpm} per minute,
 * starting full; one token per request, taken at dispatch. Backed by a Bucket4j {@link Bucket} from a
 * {@link BucketStore}, so the state can live in this process or be shared. Changing the rate keeps the tokens
 * already earned: no reset to full, no reset to zero; changing the capacity keeps them too, capped at the new
 * capacity (Bucket4j's {@link TokensInheritanceStrategy#AS_IS}).
 *
 * <p>Never reads a clock: every method takes the caller's {@code nowNanos} ({@code Clock.nanoTime()}, read once
 * per decision) and the Bucket4j bucket is timed by that instant. An instant older than one already decided on
 * adds no tokens.
 *
 * <p>Thread-safe: every method holds this object's monitor, and the Bucket4j bucket is used only under it, so
 * the instant its time meter reports is the one of the call in progress. {@link #rateRpm()} is a volatile read.
 */
public final class TokenBucket {
  private final BucketStore store;
  private final String id;
  private volatile int capacity;
  private final DecisionInstant instant = new DecisionInstant();
  private volatile int rateRpm;
  /** Created at the first call, so that its refill starts at an instant a caller read. */
  private Bucket bucket;

  /**
   * @param store where the bucket's state lives
   * @param id the backend id, the state's key
   * @param rateRpm refill rate in requests per minute, ≥ 1
   * @param capacity burst size in requests, ≥ 1
   */
  public TokenBucket(BucketStore store, String id, int rateRpm, int capacity) {
    if (rateRpm < 1 || capacity < 1) {
      throw new IllegalArgumentException("rateRpm and capacity must be ≥ 1: " + rateRpm + ", " + capacity);
    }
    this.store = store;
    this.id = id;
    this.capacity = capacity;
    this.rateRpm = rateRpm;
  }

  private static BucketConfiguration configuration(int rateRpm, int capacity) {
    return BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(capacity).refillGreedy(rateRpm, Duration.ofMinutes(1))
            .initialTokens(capacity).build())
        .build();
  }

  /** The bucket, timed at {@code nowNanos} for the call that follows. Lock held. */
  private Bucket at(long nowNanos) {
    instant.nanos = nowNanos;
    if (bucket == null) {
      bucket = store.bucket(id, configuration(rateRpm, capacity), instant);
    }
    return bucket;
  }

  /** Takes one token at {@code nowNanos}, or says when the next one will be there. */
  public synchronized Admission tryAcquire(long nowNanos) {
    ConsumptionProbe probe = at(nowNanos).tryConsumeAndReturnRemaining(1);
    return probe.isConsumed() ? Admission.grantedAt(nowNanos)
        : Admission.retryAt(nowNanos + probe.getNanosToWaitForRefill());
  }

  /**
   * Keeps at most {@code maxTokens} of the tokens stored at {@code nowNanos}: the burst a bucket saved up is not
   * there upstream once the upstream has refused.
   */
  public synchronized void keepAtMost(long maxTokens, long nowNanos) {
    Bucket b = at(nowNanos);
    long excess = b.getAvailableTokens() - Math.max(0, maxTokens);
    if (excess > 0) {
      b.tryConsume(excess);
    }
  }

  /** Nanoseconds from {@code nowNanos} until one token is available; 0 when one is. */
  public synchronized long nanosToNextToken(long nowNanos) {
    return at(nowNanos).estimateAbilityToConsume(1).getNanosToWaitForRefill();
  }

  /** Changes the refill rate from {@code nowNanos} on, keeping the tokens already earned. */
  public synchronized void setRateRpm(int newRateRpm, long nowNanos) {
    if (newRateRpm < 1) {
      throw new IllegalArgumentException("rateRpm must be ≥ 1: " + newRateRpm);
    }
    if (newRateRpm == rateRpm) {
      return;
    }
    at(nowNanos).replaceConfiguration(configuration(newRateRpm, capacity), TokensInheritanceStrategy.AS_IS);
    rateRpm = newRateRpm;
  }

  /**
   * Changes the burst size from {@code nowNanos} on: the tokens already earned stay, capped at the new capacity,
   * and refill continues at the same rate up to it.
   */
  public synchronized void setCapacity(int newCapacity, long nowNanos) {
    if (newCapacity < 1) {
      throw new IllegalArgumentException("capacity must be ≥ 1: " + newCapacity);
    }
    if (newCapacity == capacity) {
      return;
    }
    Bucket b = at(nowNanos);
    long tokens = b.getAvailableTokens();
    b.replaceConfiguration(configuration(rateRpm, newCapacity), TokensInheritanceStrategy.AS_IS);
    // AS_IS keeps the stored tokens; a smaller bucket cannot hold more than it fits.
    long excess = Math.min(tokens, b.getAvailableTokens()) - newCapacity;
    if (excess > 0) {
      b.tryConsume(excess);
    }
    capacity = newCapacity;
  }

  public int rateRpm() {
    return rateRpm;
  }

  public int capacity() {
    return capacity;
  }

  /** Whole tokens available at {@code nowNanos}. */
  public synchronized long availableTokens(long nowNanos) {
    return at(nowNanos).getAvailableTokens();
  }

  /** Shows the tokens as of the last call. */
  @Override
  public synchronized String toString() {
    long tokens = bucket == null ? capacity : bucket.getAvailableTokens();
    return "TokenBucket[tokens=" + tokens + ", rateRpm=" + rateRpm + ", capacity=" + capacity + "]";
  }
}
