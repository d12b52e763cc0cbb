package dev.sluice.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Priority;
import dev.sluice.config.FailoverConfig.Selection;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.QuotaGuard;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.RetryBudget;
import dev.sluice.limit.TokenBucket;
import dev.sluice.limit.TokensPerMinute;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The dispatcher with tokens-per-minute budgets: requests wait for tokens in queue order. */
class DispatcherTokensTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long LONG_WAIT = 3_600 * SECOND;

  private final ManualClock clock = new ManualClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final BucketStore store = BucketStore.inMemory();
  private final List<String> departures = new CopyOnWriteArrayList<>();

  /** A pool's only backend at {@code rateRpm} with a burst of {@code capacity}, and {@code tpm} (0: none). */
  private Backend backend(String id, int rateRpm, int capacity, long tpm) {
    return backend(id, rateRpm, capacity, tpm, QuotaGuard.Policy.capErrorsOnly());
  }

  private Backend backend(String id, int rateRpm, int capacity, long tpm, QuotaGuard.Policy quota) {
    return new Backend(id, "pool", URI.create("http://127.0.0.1:1/v1"), Optional.empty(),
        new TokenBucket(store, id, rateRpm, capacity),
        new RetreatController(RetreatPolicy.defaults(), rateRpm, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        new ConcurrencyLimit(false, ConcurrencyLimit.MAX_LIMIT), Optional.empty(),
        new Backend.TokenLimits(new QuotaGuard(quota),
            tpm > 0 ? Optional.of(new TokensPerMinute(tpm)) : Optional.empty(), false),
        clock);
  }

  private Dispatcher dispatcher(int queueMax, Backend... backends) {
    return new Dispatcher("pool", List.of(backends), new Dispatcher.Settings(queueMax, FullPolicy.REJECT,
        Duration.ofHours(1).toNanos()), new Dispatcher.Failover(Selection.ORDERED, Long.MAX_VALUE,
        new RetryBudget(20, 60, clock.nanoTime()), Optional.empty()), clock, scheduler);
  }

  private TestWaiter submit(Dispatcher dispatcher, String name, Priority priority, long estimatedTokens) {
    TestWaiter waiter = new TestWaiter(name, priority, clock.nanoTime(), clock.nanoTime() + LONG_WAIT, departures);
    waiter.estimatedTokens = estimatedTokens;
    dispatcher.submit(waiter);
    return waiter;
  }

  private void advance(Duration duration) {
    clock.advance(duration);
    scheduler.runDue();
  }

  @Test
  void aRequestReservesItsEstimateWhenItIsDispatched() {
    Backend backend = backend("b", 6_000, 100, 6_000);
    Dispatcher dispatcher = dispatcher(100, backend);

    TestWaiter waiter = submit(dispatcher, "w", Priority.NORMAL, 2_500);

    assertThat(waiter.permits.getFirst().reservedTokens()).isEqualTo(2_500);
    assertThat(backend.snapshot().tpmAvailable()).isEqualTo(3_500);
  }

  @Test
  void aBigRequestWaitsForItsTokensAndNobodyBehindItOvertakes() {
    // 6000 tokens a minute, all taken by the first: they leave the window a minute (and a slot) later.
    Dispatcher dispatcher = dispatcher(100, backend("b", 6_000, 100, 6_000));
    submit(dispatcher, "first", Priority.NORMAL, 6_000);
    clock.advance(Duration.ofSeconds(30));
    TestWaiter big = submit(dispatcher, "big", Priority.NORMAL, 3_000);
    TestWaiter small = submit(dispatcher, "small", Priority.NORMAL, 10);

    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(30_100_000_000L);
    advance(Duration.ofMillis(30_099));
    assertThat(big.dispatched()).isFalse();
    assertThat(small.dispatched()).as("queue order is kept").isFalse();

    advance(Duration.ofMillis(1));
    assertThat(big.dispatched()).isTrue();
    assertThat(small.dispatched()).as("the big one is in the window now, with room for it").isTrue();
  }

  @Test
  void aMoreUrgentRequestThatFitsGoesFirst() {
    Dispatcher dispatcher = dispatcher(100, backend("b", 6_000, 100, 6_000));
    submit(dispatcher, "first", Priority.NORMAL, 5_000);
    submit(dispatcher, "big", Priority.NORMAL, 3_000);
    submit(dispatcher, "urgent", Priority.URGENT, 500);

    assertThat(departures).as("the urgent one fits what is left").containsExactly("first", "urgent");
    advance(Duration.ofMillis(60_100));

    assertThat(departures).containsExactly("first", "urgent", "big");
  }

  @Test
  void tokensGivenBackBySettlingLetTheNextRequestGoAtOnce() {
    Dispatcher dispatcher = dispatcher(100, backend("b", 6_000, 100, 6_000));
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL, 6_000);
    TestWaiter big = submit(dispatcher, "big", Priority.NORMAL, 3_000);
    assertThat(big.dispatched()).isFalse();

    first.permits.getFirst().release(new Attempt(200, 0).withUsage(1_000, false));

    assertThat(big.dispatched()).isTrue();
  }

  @Test
  void aRequestEstimatedAboveTheLimitGoesOnceTheWindowIsEmpty() {
    Dispatcher dispatcher = dispatcher(100, backend("b", 6_000, 100, 6_000));
    submit(dispatcher, "first", Priority.NORMAL, 1_000);
    TestWaiter huge = submit(dispatcher, "huge", Priority.NORMAL, 1_000_000);

    advance(Duration.ofMillis(60_099));
    assertThat(huge.dispatched()).isFalse();
    advance(Duration.ofMillis(1));

    assertThat(huge.permits.getFirst().reservedTokens()).isEqualTo(6_000);
  }

  @Test
  void aRefusalsRetryAfterCountsTheTokensOfTheWaitersAheadWhenEveryBackendHasATpm() {
    Dispatcher dispatcher = dispatcher(2, backend("a", 600, 1, 6_000), backend("b", 600, 1, 6_000));
    submit(dispatcher, "first", Priority.NORMAL, 1_000);
    submit(dispatcher, "second", Priority.NORMAL, 1_000);
    submit(dispatcher, "q1", Priority.NORMAL, 3_000);
    submit(dispatcher, "q2", Priority.NORMAL, 3_000);

    TestWaiter refused = submit(dispatcher, "refused", Priority.NORMAL, 100);

    // 6000 tokens ahead at 12000 a minute take 30 s (two requests at 1200 RPM only 0.1 s), plus 0.1 s until the
    // next request token.
    assertThat(refused.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.waitNanos()).isEqualTo(30 * SECOND + SECOND / 10);
      assertThat(r.retryAfterSeconds()).isEqualTo(31);
    });
  }

  @Test
  void aRefusalsRetryAfterCountsOnlyRequestsWhenABackendHasNoTpm() {
    Dispatcher dispatcher = dispatcher(2, backend("a", 600, 1, 6_000), backend("b", 600, 1, 0));
    submit(dispatcher, "first", Priority.NORMAL, 1_000);
    submit(dispatcher, "second", Priority.NORMAL, 1_000);
    submit(dispatcher, "q1", Priority.NORMAL, 3_000);
    submit(dispatcher, "q2", Priority.NORMAL, 3_000);

    TestWaiter refused = submit(dispatcher, "refused", Priority.NORMAL, 100);

    // Backend b can take any number of tokens: two requests at 1200 RPM take 0.1 s, plus 0.1 s for the next token.
    assertThat(refused.rejection().orElseThrow().waitNanos()).isEqualTo(SECOND / 5);
  }

  @Test
  void aTimedOutRequestsRetryAfterCountsTheTokensOfTheLevelsAhead() {
    Dispatcher dispatcher = dispatcher(100, backend("b", 6_000, 100, 6_000));
    submit(dispatcher, "first", Priority.NORMAL, 6_000);
    submit(dispatcher, "urgent", Priority.URGENT, 3_000);
    TestWaiter normal = new TestWaiter("normal", Priority.NORMAL, clock.nanoTime(), clock.nanoTime() + 10 * SECOND,
        departures);
    normal.estimatedTokens = 100;
    dispatcher.submit(normal);

    advance(Duration.ofSeconds(10));

    // The urgent request's 3000 tokens take 30 s at 6000 a minute; the next request token is there.
    assertThat(normal.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(429);
      assertThat(r.waitNanos()).isEqualTo(30 * SECOND);
    });
  }

  @Test
  void waitersBehindAnExceededQuotaSendOneProbeAndGoWhenItIsAccepted() {
    Backend backend = backend("b", 6_000, 100, 0, new QuotaGuard.Policy(1_000, Duration.ofHours(1), 99, Duration.ofSeconds(300)));
    Dispatcher dispatcher = dispatcher(100, backend);
    submit(dispatcher, "spender", Priority.NORMAL, 0).permits.getFirst()
        .release(new Attempt(200, 0).withUsage(995, false));
    TestWaiter probe = submit(dispatcher, "probe", Priority.NORMAL, 0);
    TestWaiter second = submit(dispatcher, "second", Priority.NORMAL, 0);
    TestWaiter third = submit(dispatcher, "third", Priority.NORMAL, 0);

    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(300 * SECOND);
    advance(Duration.ofSeconds(300));
    assertThat(probe.permits).singleElement().satisfies(p -> assertThat(p.probe()).isTrue());
    assertThat(second.dispatched()).as("one probe at a time").isFalse();
    advance(Duration.ofSeconds(60));
    assertThat(second.dispatched()).isFalse();

    probe.permits.getFirst().release(new Attempt(200, 0).withUsage(10, false));

    assertThat(departures).containsExactly("spender", "probe", "second", "third");
    assertThat(third.permits.getFirst().probe()).isFalse();
  }
}
