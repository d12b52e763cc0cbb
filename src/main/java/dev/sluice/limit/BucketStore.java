package dev.sluice.limit;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.TimeMeter;

/**
 * Where token-bucket state lives. The in-process store is the default; a shared store lets several Sluice
 * replicas draw from the same buckets. A store never reads a clock: each bucket is timed by the {@link TimeMeter}
 * it is created with, which its {@link TokenBucket} points at the instant of the decision in progress.
 */
public interface BucketStore {

  /** The bucket for {@code id}, created with {@code configuration} if it does not exist yet, timed by {@code time}. */
  Bucket bucket(String id, BucketConfiguration configuration, TimeMeter time);

  /** Buckets in this process's memory. */
  static BucketStore inMemory() {
    return (id, configuration, time) -> Bucket.builder().withCustomTimePrecision(time)
        .addLimit(configuration.getBandwidths()[0]).build();
  }
}
