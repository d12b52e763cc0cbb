package dev.sluice.limit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.TimeMeter;
import dev.sluice.time.Clock;

/**
 * Where token-bucket state lives. The in-process store is the default; a shared store lets several Sluice
 * replicas draw from the same buckets.
 */
public interface BucketStore {

  /** The bucket for {@code id}, created with {@code configuration} if it does not exist yet. */
  Bucket bucket(String id, BucketConfiguration configuration);

  /** Buckets in this process's memory, timed by {@code clock}. */
  static BucketStore inMemory(Clock clock) {
    TimeMeter meter = new TimeMeter() {
      @Override
      public long currentTimeNanos() {
        return clock.nanoTime();
      }

      @Override
      public boolean isWallClockBased() {
        return false;
      }
    };
    return (id, configuration) -> Bucket.builder().withCustomTimePrecision(meter)
        .addLimit(configuration.getBandwidths()[0]).build();
  }
}
