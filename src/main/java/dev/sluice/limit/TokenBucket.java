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
 * already earned: no reset to full, no reset to zero.
 *
 * <p>Thread-safe: Bucket4j's bucket is lock-free; the rate is a volatile read.
 */
public final class TokenBucket {
  private final Bucket bucket;
  private final int capacity;
  private volatile int rateRpm;

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
    this.capacity = capacity;
    this.rateRpm = rateRpm;
    this.bucket = store.bucket(id, configuration(rateRpm, capacity));
  }

  private static BucketConfiguration configuration(int rateRpm, int capacity) {
    return BucketConfiguration.builder()
        .addLimit(Bandwidth.builder().capacity(capacity).refillGreedy(rateRpm, Duration.ofMinutes(1))
            .initialTokens(capacity).build())
        .build();
  }

  /** Takes one token, or says when the next one will be there. */
  public Admission tryAcquire(long nowNanos) {
    ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
    return probe.isConsumed() ? Admission.grantedAt(nowNanos)
        : Admission.retryAt(nowNanos + probe.getNanosToWaitForRefill());
  }

  /** Takes one token even if none is left, going into debt that later refills pay back. */
  public void forceAcquire() {
    bucket.consumeIgnoringRateLimits(1);
  }

  /** Nanoseconds until one token is available; 0 when one is. */
  public long nanosToNextToken() {
    return bucket.estimateAbilityToConsume(1).getNanosToWaitForRefill();
  }

  /** Changes the refill rate, keeping the tokens already earned. */
  public void setRateRpm(int newRateRpm) {
    if (newRateRpm < 1) {
      throw new IllegalArgumentException("rateRpm must be ≥ 1: " + newRateRpm);
    }
    if (newRateRpm == rateRpm) {
      return;
    }
    bucket.replaceConfiguration(configuration(newRateRpm, capacity), TokensInheritanceStrategy.AS_IS);
    rateRpm = newRateRpm;
  }

  public int rateRpm() {
    return rateRpm;
  }

  public int capacity() {
    return capacity;
  }

  /** Whole tokens available now (negative while in debt). */
  public long availableTokens() {
    return bucket.getAvailableTokens();
  }

  @Override
  public String toString() {
    return "TokenBucket[tokens=" + availableTokens() + ", rateRpm=" + rateRpm + ", capacity=" + capacity + "]";
  }
}
