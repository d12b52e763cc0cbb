package dev.sluice.backend;

import dev.sluice.config.Secret;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.Clock;
import java.net.URI;
import java.time.Duration;
import java.util.Optional;

/** Backends for tests that are about something else than concurrency limits and cooldowns. */
public final class TestBackends {
  /** Cooldown of 5 s doubling up to 300 s, precheck 2 s: the defaults. */
  public static final Cooldown.Policy DEFAULT_COOLDOWN =
      new Cooldown.Policy(Duration.ofSeconds(5), Duration.ofSeconds(300), true, Duration.ofSeconds(2));

  private TestBackends() {}

  /** A backend with no practical concurrency limit and no cooldown, as a pool's only backend has. */
  public static Backend of(String id, String pool, TokenBucket bucket, RetreatController retreat, Clock clock) {
    return new Backend(id, pool, URI.create("http://127.0.0.1:1/v1"), Optional.empty(), bucket, retreat,
        new ConcurrencyLimit(false, ConcurrencyLimit.MAX_LIMIT), Optional.empty(), Backend.TokenLimits.none(), clock);
  }

  /**
   * A backend with its own key, a fixed concurrency limit and a cooldown, as one of several in a pool.
   *
   * @param maxConcurrent the fixed concurrency limit
   */
  public static Backend withCooldown(String id, int rateRpm, int capacity, int maxConcurrent, Clock clock) {
    return new Backend(id, "pool", URI.create("http://127.0.0.1:1/v1"), Optional.of(Secret.of("sk-" + id + "-key")),
        new TokenBucket(BucketStore.inMemory(), id, rateRpm, capacity),
        new RetreatController(RetreatPolicy.defaults(), rateRpm, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        new ConcurrencyLimit(false, maxConcurrent), Optional.of(new Cooldown(DEFAULT_COOLDOWN)), Backend.TokenLimits.none(), clock);
  }

  /** A backend at {@code rateRpm} with burst {@code capacity}, default retreat, no practical concurrency limit. */
  public static Backend of(String id, int rateRpm, int capacity, Clock clock) {
    return of(id, "pool", new TokenBucket(BucketStore.inMemory(), id, rateRpm, capacity),
        new RetreatController(RetreatPolicy.defaults(), rateRpm, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        clock);
  }
}
