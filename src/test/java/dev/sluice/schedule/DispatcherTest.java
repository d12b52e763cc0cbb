package dev.sluice.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.config.FailoverConfig.Selection;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryBudget;
import dev.sluice.backend.TestBackends;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.RetreatState;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class DispatcherTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long LONG_WAIT = 3_600 * SECOND;

  private final ManualClock clock = new ManualClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private Dispatcher.Failover failover = new Dispatcher.Failover(Selection.ORDERED, Long.MAX_VALUE,
      new RetryBudget(20, 60, clock.nanoTime()), Optional.empty());
  private final BucketStore store = BucketStore.inMemory();
  private final List<String> departures = new CopyOnWriteArrayList<>();
  private int names;

  private Backend backend(String id, int rateRpm, int capacity) {
    return TestBackends.of(id, "pool", new TokenBucket(store, id, rateRpm, capacity),
        new RetreatController(RetreatPolicy.defaults(), rateRpm, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        clock);
  }

  private Dispatcher dispatcher(int queueMax, FullPolicy policy, Duration lowTimeout, Backend... backends) {
    return new Dispatcher("pool", List.of(backends), new Dispatcher.Settings(queueMax, policy, lowTimeout.toNanos()),
        failover, clock, scheduler);
  }

  private Dispatcher dispatcher(Backend... backends) {
    return dispatcher(100, FullPolicy.REJECT, Duration.ofHours(1), backends);
  }

  private TestWaiter waiter(String name, Priority priority, long waitNanos) {
    return new TestWaiter(name, priority, clock.nanoTime(), clock.nanoTime() + waitNanos, departures);
  }

  private TestWaiter submit(Dispatcher dispatcher, String name, Priority priority) {
    return submit(dispatcher, name, priority, LONG_WAIT);
  }

  private TestWaiter submit(Dispatcher dispatcher, String name, Priority priority, long waitNanos) {
    TestWaiter waiter = waiter(name, priority, waitNanos);
    dispatcher.submit(waiter);
    return waiter;
  }

  private void advance(Duration duration) {
    clock.advance(duration);
    scheduler.runDue();
  }

  @Test
  void strictPriorityBetweenLevelsAndFifoWithinOne() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "low1", Priority.LOW);
    submit(dispatcher, "normal1", Priority.NORMAL);
    submit(dispatcher, "urgent1", Priority.URGENT);
    submit(dispatcher, "high1", Priority.HIGH);
    submit(dispatcher, "normal2", Priority.NORMAL);
    submit(dispatcher, "urgent2", Priority.URGENT);
    submit(dispatcher, "low2", Priority.LOW);

    for (int i = 0; i < 7; i++) {
      advance(Duration.ofSeconds(1));
    }

    assertThat(departures).containsExactly("first", "urgent1", "urgent2", "high1", "normal1", "normal2", "low1",
        "low2");
  }

  @Test
  void aWaiterIsDispatchedAtTheExactInstantTheNextTokenRefills() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter second = submit(dispatcher, "second", Priority.NORMAL);

    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(SECOND);
    advance(Duration.ofMillis(999));
    assertThat(second.dispatched()).isFalse();
    advance(Duration.ofMillis(1));
    assertThat(second.dispatched()).isTrue();
  }

  @Test
  void anEmptyBucketAndADeepQueueWakeTheDispatcherOncePerRefill() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    for (int i = 0; i < 50; i++) {
      submit(dispatcher, "w" + i, Priority.NORMAL);
    }
    assertThat(scheduler.pending()).isEqualTo(1);
    int before = scheduler.scheduledCount();

    for (int i = 0; i < 10; i++) {
      advance(Duration.ofSeconds(1));
      assertThat(scheduler.pending()).isEqualTo(1);
    }

    assertThat(departures).hasSize(11);
    assertThat(scheduler.scheduledCount() - before).isEqualTo(10);
  }

  @Test
  void theNextBackendInOrderServesWhenTheFirstHasNoToken() {
    Backend first = backend("first", 60, 1);
    Backend second = backend("second", 60, 1);
    Dispatcher dispatcher = dispatcher(first, second);

    TestWaiter a = submit(dispatcher, "a", Priority.NORMAL);
    TestWaiter b = submit(dispatcher, "b", Priority.NORMAL);
    TestWaiter c = submit(dispatcher, "c", Priority.NORMAL);

    assertThat(a.permits.getFirst().backend()).isSameAs(first);
    assertThat(b.permits.getFirst().backend()).isSameAs(second);
    assertThat(c.dispatched()).isFalse();
  }

  @Test
  void rejectPolicyAnswers503WithRetryAfterFromQueuePositionAndRefill() {
    Dispatcher dispatcher = dispatcher(2, FullPolicy.REJECT, Duration.ofHours(1), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "q1", Priority.NORMAL);
    submit(dispatcher, "q2", Priority.NORMAL);

    TestWaiter refused = submit(dispatcher, "refused", Priority.URGENT);

    // Two waiters ahead at 60 RPM take 2 s, plus 1 s until the next token.
    assertThat(refused.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.code()).isEqualTo("queue_full");
      assertThat(r.message()).isEqualTo("The queue of pool pool is full (2 waiting); try again later.");
      assertThat(r.retryAfterSeconds()).isEqualTo(3);
    });
    assertThat(dispatcher.snapshot().rejectedFull()).isEqualTo(1);
  }

  @Test
  void aRefusalCarriesThePoolsRateTokensAndWait() {
    Dispatcher dispatcher = dispatcher(2, FullPolicy.REJECT, Duration.ofHours(1), backend("a", 120, 1),
        backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "second", Priority.NORMAL);
    submit(dispatcher, "q1", Priority.NORMAL);
    advance(Duration.ofMillis(250));
    submit(dispatcher, "q2", Priority.NORMAL);

    TestWaiter refused = submit(dispatcher, "refused", Priority.NORMAL);

    // 180 RPM in all; no token left beyond the two waiting; two waiters ahead take 2/3 s, and a's next token is
    // 0.25 s away (half a second at 120 RPM, a quarter gone).
    assertThat(refused.rejection()).hasValueSatisfying(r -> {
      assertThat(r.limitRpm()).isEqualTo(180);
      assertThat(r.remaining()).isZero();
      assertThat(r.waitNanos()).isEqualTo(666_666_667L + 250_000_000L);
      assertThat(r.retryAfterSeconds()).isEqualTo(1);
    });
  }

  @Test
  void retryAfterScalesWithTheCombinedRateOfThePoolsBackends() {
    Dispatcher dispatcher = dispatcher(4, FullPolicy.REJECT, Duration.ofHours(1), backend("a", 120, 1),
        backend("b", 120, 1));
    for (int i = 0; i < 6; i++) {
      submit(dispatcher, "w" + i, Priority.NORMAL);
    }

    TestWaiter refused = submit(dispatcher, "refused", Priority.NORMAL);

    // Four ahead at 240 RPM take 1 s, plus 0.5 s until the next token: ceil(1.5) = 2.
    assertThat(refused.rejection().orElseThrow().retryAfterSeconds()).isEqualTo(2);
  }

  @Test
  void dropLowestEvictsTheNewestLowestWaiterAndAnswersItAtOnce() {
    Dispatcher dispatcher = dispatcher(3, FullPolicy.DROP_LOWEST, Duration.ofHours(1), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter low1 = submit(dispatcher, "low1", Priority.LOW);
    TestWaiter low2 = submit(dispatcher, "low2", Priority.LOW);
    submit(dispatcher, "normal1", Priority.NORMAL);

    TestWaiter urgent = submit(dispatcher, "urgent", Priority.URGENT);

    assertThat(low2.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.code()).isEqualTo("evicted");
      assertThat(r.message()).isEqualTo("A more urgent request took this one's place in the full queue of pool pool;"
          + " try again later.");
      // The two still waiting (low1, normal1) take 2 s at 60 RPM, plus 1 s until the next token.
      assertThat(r.retryAfterSeconds()).isEqualTo(3);
    });
    assertThat(low1.departures()).isZero();
    assertThat(urgent.departures()).isZero();
    assertThat(dispatcher.snapshot().evicted()).isEqualTo(1);

    for (int i = 0; i < 3; i++) {
      advance(Duration.ofSeconds(1));
    }
    assertThat(departures).containsExactly("first", "low2:503", "urgent", "normal1", "low1");
  }

  @Test
  void dropLowestRefusesANewcomerThatIsItselfTheLowest() {
    Dispatcher dispatcher = dispatcher(2, FullPolicy.DROP_LOWEST, Duration.ofHours(1), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter high = submit(dispatcher, "high", Priority.HIGH);
    TestWaiter normal = submit(dispatcher, "normal", Priority.NORMAL);

    TestWaiter newcomer = submit(dispatcher, "newcomer", Priority.NORMAL);
    TestWaiter low = submit(dispatcher, "low", Priority.LOW);

    assertThat(newcomer.rejection().orElseThrow().code()).isEqualTo("queue_full");
    assertThat(newcomer.rejection().orElseThrow().message()).isEqualTo("The queue of pool pool is full of requests at"
        + " least as urgent as this one; try again later.");
    assertThat(low.rejection().orElseThrow().status()).isEqualTo(503);
    assertThat(low.rejection().orElseThrow().code()).isEqualTo("queue_full");
    assertThat(high.departures()).isZero();
    assertThat(normal.departures()).isZero();
  }

  @Test
  void passthroughSendsTheOverflowOfAFullQueueWithoutPuttingTheBucketInDebt() {
    Dispatcher dispatcher = dispatcher(1, FullPolicy.PASSTHROUGH, Duration.ofHours(1), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter queued = submit(dispatcher, "queued", Priority.NORMAL);

    TestWaiter bypass = submit(dispatcher, "bypass", Priority.LOW);

    assertThat(bypass.dispatched()).isTrue();
    assertThat(bypass.permits.getFirst().unshaped()).isTrue();
    assertThat(queued.dispatched()).isFalse();
    assertThat(dispatcher.snapshot().passedThroughFull()).isEqualTo(1);
    // The queued waiter goes at the next refill, as if the overflow had never come.
    advance(Duration.ofSeconds(1));
    assertThat(queued.dispatched()).isTrue();
  }

  @Test
  void passthroughAnswersTheOverflow429AtOnceWhileTheUpstreamIsAtItsLimit() {
    Dispatcher dispatcher = dispatcher(1, FullPolicy.PASSTHROUGH, Duration.ofHours(1), backend("b", 60, 2));
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "second", Priority.NORMAL);
    first.permits.getFirst().release(new Attempt(429, 0, 0, Attempt.ABSENT));
    submit(dispatcher, "queued", Priority.NORMAL);

    TestWaiter overflow = submit(dispatcher, "overflow", Priority.NORMAL);

    assertThat(overflow.dispatched()).isFalse();
    assertThat(overflow.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(429);
      assertThat(r.code()).isEqualTo("rate_limited");
      assertThat(r.message()).isEqualTo("The queue of pool pool is full (1 waiting) and its upstream is at its"
          + " limit; try again later.");
      // One waiter ahead at 60 RPM, and the next token a second away.
      assertThat(r.retryAfterSeconds()).isEqualTo(2);
    });
    assertThat(dispatcher.snapshot().refusedAtLimit()).isEqualTo(1);
    assertThat(dispatcher.snapshot().passedThroughFull()).isZero();
  }

  @Test
  void passthroughResumesAWindowAfterTheUpstreamsLastRefusal() {
    Backend backend = backend("b", 60, 2);
    Dispatcher dispatcher = dispatcher(1, FullPolicy.PASSTHROUGH, Duration.ofHours(1), backend);
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL);
    first.permits.getFirst().release(new Attempt(429, 0, 0, Attempt.ABSENT));

    advance(Duration.ofSeconds(59));
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).isFalse();
    advance(Duration.ofSeconds(1));
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).isTrue();
    submit(dispatcher, "second", Priority.NORMAL);
    submit(dispatcher, "third", Priority.NORMAL);
    submit(dispatcher, "queued", Priority.NORMAL);
    TestWaiter overflow = submit(dispatcher, "overflow", Priority.NORMAL);

    assertThat(overflow.dispatched()).isTrue();
  }

  /** Sends through {@code backend} for {@code seconds}: 10 accepted and 5 refused for the rate each second. */
  private void refusedAThird(Backend backend, int seconds) {
    for (int s = 0; s < seconds; s++) {
      List<Permit> permits = new ArrayList<>();
      for (int i = 0; i < 15; i++) {
        permits.add(((Backend.Granted) backend.tryAcquire(clock.nanoTime())).permit());
      }
      for (int i = 0; i < 15; i++) {
        permits.get(i).release(i < 10 ? new Attempt(200, 0) : new Attempt(429, 0, 0, Attempt.ABSENT));
      }
      advance(Duration.ofSeconds(1));
    }
  }

  @Test
  void passthroughIsRefusedWhileTheBackendRetreatsLongAfterItsLastRefusal() {
    Backend backend = backend("b", 6_000, 100);
    refusedAThird(backend, 3);
    assertThat(backend.snapshot().retreat().state()).isEqualTo(RetreatState.RETREAT);
    advance(Duration.ofSeconds(120));
    while (backend.tryAcquire(clock.nanoTime()) instanceof Backend.Granted) {
      // spend the tokens saved up meanwhile
    }
    Dispatcher dispatcher = dispatcher(1, FullPolicy.PASSTHROUGH, Duration.ofHours(1), backend);
    submit(dispatcher, "queued", Priority.NORMAL);
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).as("no refusal for two minutes").isFalse();

    TestWaiter overflow = submit(dispatcher, "overflow", Priority.NORMAL);

    assertThat(overflow.rejection()).hasValueSatisfying(r -> assertThat(r.status()).isEqualTo(429));
  }

  @Test
  void passthroughGoesToTheFirstBackendNotAtItsLimit() {
    Backend limited = backend("limited", 60, 1);
    Backend open = backend("open", 60, 1);
    Dispatcher dispatcher = dispatcher(1, FullPolicy.PASSTHROUGH, Duration.ofHours(1), limited, open);
    submit(dispatcher, "first", Priority.NORMAL).permits.getFirst()
        .release(new Attempt(429, 0, 0, Attempt.ABSENT));
    submit(dispatcher, "second", Priority.NORMAL);
    submit(dispatcher, "queued", Priority.NORMAL);

    TestWaiter overflow = submit(dispatcher, "overflow", Priority.NORMAL);

    assertThat(overflow.permits).singleElement().satisfies(permit -> {
      assertThat(permit.backend()).isSameAs(open);
      assertThat(permit.unshaped()).isTrue();
    });
  }

  @Test
  void aRequeuedWaiterIsRefusedAtItsDeadlineCountedFromItsArrival() {
    Backend backend = backend("b", 600, 10);
    Dispatcher dispatcher = dispatcher(backend);
    TestWaiter waiter = submit(dispatcher, "waiter", Priority.NORMAL, 10 * SECOND);
    advance(Duration.ofSeconds(4));
    // The upstream refused it after 4 s and asks for 30 s more: longer than the 6 s left of its deadline.
    waiter.permits.getFirst().release(new Attempt(429, 30 * SECOND, 0, Attempt.ABSENT));
    dispatcher.requeue(waiter);

    advance(Duration.ofMillis(5_999));
    assertThat(waiter.departures()).isEqualTo(1);
    advance(Duration.ofMillis(1));

    assertThat(waiter.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(429);
      assertThat(r.message()).isEqualTo("Waited 10 s in the queue of pool pool without a free slot.");
      // Nobody ahead, and the upstream's hold has 24 s to run.
      assertThat(r.retryAfterSeconds()).isEqualTo(24);
    });
  }

  @Test
  void lowGivesUpAfterTheLowTimeoutAtTheHeadWhileNormalWaitsUntilItsDeadline() {
    Dispatcher dispatcher = dispatcher(100, FullPolicy.REJECT, Duration.ofSeconds(5), backend("b", 1, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter low = submit(dispatcher, "low", Priority.LOW, 30 * SECOND);

    advance(Duration.ofMillis(4_999));
    assertThat(low.departures()).isZero();
    advance(Duration.ofMillis(1));

    assertThat(low.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(429);
      assertThat(r.code()).isEqualTo("rate_limited");
      assertThat(r.message()).isEqualTo("Waited 5 s at the head of the queue of pool pool without a free slot (low"
          + " priority).");
      // Nobody ahead; the next token at 1 RPM is 55 s away.
      assertThat(r.retryAfterSeconds()).isEqualTo(55);
    });

    TestWaiter normal = submit(dispatcher, "normal", Priority.NORMAL, 30 * SECOND);
    advance(Duration.ofSeconds(29));
    assertThat(normal.departures()).isZero();
    advance(Duration.ofSeconds(1));
    assertThat(normal.rejection().orElseThrow().status()).isEqualTo(429);
    assertThat(normal.rejection().orElseThrow().message())
        .isEqualTo("Waited 30 s in the queue of pool pool without a free slot.");
    assertThat(dispatcher.snapshot().timedOut()).isEqualTo(2);
  }

  @Test
  void theLowTimeoutCountsFromReachingTheHeadNotFromArrival() {
    Dispatcher dispatcher = dispatcher(100, FullPolicy.REJECT, Duration.ofSeconds(5), backend("b", 1, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter normal = submit(dispatcher, "normal", Priority.NORMAL, 8 * SECOND);
    TestWaiter low = submit(dispatcher, "low", Priority.LOW, LONG_WAIT);

    advance(Duration.ofSeconds(8));
    assertThat(normal.rejection().orElseThrow().status()).isEqualTo(429);
    assertThat(low.departures()).isZero();

    advance(Duration.ofMillis(4_999));
    assertThat(low.departures()).isZero();
    advance(Duration.ofMillis(1));
    assertThat(low.rejection().orElseThrow().status()).isEqualTo(429);
  }

  @Test
  void aDeadlineRefusalCountsTheWaitersAheadInTheRetryAfter() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    for (int i = 0; i < 4; i++) {
      submit(dispatcher, "urgent" + i, Priority.URGENT, LONG_WAIT);
    }
    TestWaiter normal = submit(dispatcher, "normal", Priority.NORMAL, SECOND / 2);

    advance(Duration.ofMillis(500));

    // Four urgent waiters ahead at 60 RPM, and the next token 0.5 s away: ceil(4.5) = 5.
    assertThat(normal.rejection().orElseThrow().retryAfterSeconds()).isEqualTo(5);
  }

  @Test
  void aRequeuedWaiterGoesBackToTheFrontOfItsLevel() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "second", Priority.NORMAL);
    submit(dispatcher, "urgent", Priority.URGENT);
    first.permits.getFirst().release(new Attempt(429, 0));

    dispatcher.requeue(first);
    for (int i = 0; i < 3; i++) {
      advance(Duration.ofSeconds(1));
    }

    assertThat(departures).containsExactly("first", "urgent", "first", "second");
    assertThat(dispatcher.snapshot().requeued()).isEqualTo(1);
  }

  @Test
  void requestsPutBackOutOfOrderAreRefusedAtTheirOwnDeadlines() {
    Backend backend = backend("b", 60, 2);
    Dispatcher dispatcher = dispatcher(backend);
    TestWaiter early = submit(dispatcher, "early", Priority.NORMAL, 10 * SECOND);
    advance(Duration.ofSeconds(1));
    TestWaiter late = submit(dispatcher, "late", Priority.NORMAL, 10 * SECOND);
    // Both refused upstream, which holds the backend for a minute; the later arrival is put back last, and would
    // stand in front of the earlier one if put back at the very front.
    early.permits.getFirst().release(new Attempt(429, 60 * SECOND, 0, Attempt.ABSENT));
    dispatcher.requeue(early);
    late.permits.getFirst().release(new Attempt(429, 60 * SECOND, 0, Attempt.ABSENT));
    dispatcher.requeue(late);

    advance(Duration.ofSeconds(9));
    assertThat(early.rejection()).as("at its deadline, 10 s after it arrived").isPresent();
    assertThat(late.departures()).isEqualTo(1);
    advance(Duration.ofSeconds(1));
    assertThat(late.rejection()).isPresent();
  }

  @Test
  void aWithdrawnWaiterLeavesTheQueueAndIsNeitherDispatchedNorRefused() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter gone = submit(dispatcher, "gone", Priority.NORMAL);
    submit(dispatcher, "third", Priority.NORMAL);

    assertThat(dispatcher.withdraw(gone)).isTrue();
    assertThat(dispatcher.withdraw(gone)).as("only once").isFalse();
    assertThat(dispatcher.snapshot().size()).isEqualTo(1);
    for (int i = 0; i < 3; i++) {
      advance(Duration.ofSeconds(1));
    }

    assertThat(departures).containsExactly("first", "third");
    assertThat(gone.dispatched()).isFalse();
    assertThat(dispatcher.snapshot().size()).isZero();
  }

  @Test
  void aWaiterAlreadyDispatchedCannotBeWithdrawn() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL);

    assertThat(dispatcher.withdraw(first)).isFalse();
    assertThat(first.dispatched()).isTrue();
  }

  @Test
  void anUpstreamRetryAfterHoldsTheBackendEvenWithTokensLeft() {
    Backend backend = backend("b", 600, 10);
    Dispatcher dispatcher = dispatcher(backend);
    TestWaiter first = submit(dispatcher, "first", Priority.NORMAL);
    first.permits.getFirst().release(new Attempt(429, 3 * SECOND));

    TestWaiter second = submit(dispatcher, "second", Priority.NORMAL);
    assertThat(second.dispatched()).isFalse();
    assertThat(backend.snapshot().retryAfterRemainingNanos()).isEqualTo(3 * SECOND);
    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(3 * SECOND);

    advance(Duration.ofSeconds(3));
    assertThat(second.dispatched()).isTrue();
  }

  @Test
  void aHotRateChangeWakesTheDispatcherAndKeepsEarnedTokens() {
    Backend backend = backend("b", 1, 1);
    Dispatcher dispatcher = dispatcher(backend);
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter second = submit(dispatcher, "second", Priority.NORMAL);
    advance(Duration.ofSeconds(30));
    assertThat(second.dispatched()).isFalse();

    // Half a token was earned at 1 RPM; at 60 RPM the other half takes 0.5 s.
    backend.setBaseRateRpm(60);
    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(SECOND / 2);
    advance(Duration.ofMillis(500));
    assertThat(second.dispatched()).isTrue();
  }

  @Test
  void shutdownAnswersEveryWaiterAndRefusesNewcomers() throws Exception {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    List<TestWaiter> queued = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      queued.add(submit(dispatcher, "w" + i, Priority.values()[i % 4]));
    }

    assertThat(dispatcher.shutdown(Duration.ZERO)).isEqualTo(5);
    TestWaiter late = submit(dispatcher, "late", Priority.URGENT);

    for (TestWaiter waiter : queued) {
      assertThat(waiter.departures()).isEqualTo(1);
      assertThat(waiter.rejection()).hasValueSatisfying(r -> {
        assertThat(r.status()).isEqualTo(503);
        assertThat(r.code()).isEqualTo("shutting_down");
        assertThat(r.message()).isEqualTo("Sluice is shutting down; try again shortly.");
        assertThat(r.retryAfterSeconds()).isEqualTo(1);
      });
    }
    assertThat(late.rejection().orElseThrow().status()).isEqualTo(503);
    assertThat(scheduler.pending()).isZero();
  }

  @Test
  void theQueueCannotShrinkBelowItsDepth() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    for (int i = 0; i < 3; i++) {
      submit(dispatcher, "w" + i, Priority.NORMAL);
    }

    assertThatThrownBy(() -> dispatcher.updateSettings(new Dispatcher.Settings(2, FullPolicy.REJECT, SECOND)))
        .isInstanceOfSatisfying(QueueBelowDepthException.class, e -> {
          assertThat(e.depth()).isEqualTo(3);
          assertThat(e.pool()).isEqualTo("pool");
        })
        .hasMessage("queue_max_size 2 is below the current depth 3 of pool pool");
    assertThat(dispatcher.snapshot().queueMaxSize()).isEqualTo(100);
    dispatcher.updateSettings(new Dispatcher.Settings(3, FullPolicy.REJECT, SECOND));
    assertThat(dispatcher.snapshot().queueMaxSize()).isEqualTo(3);
  }

  @Test
  void aLargerQueueAdmitsTheNextNewcomerAndASmallerOneRefusesIt() {
    Dispatcher dispatcher = dispatcher(2, FullPolicy.REJECT, Duration.ofHours(1), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "w1", Priority.NORMAL);
    submit(dispatcher, "w2", Priority.NORMAL);
    assertThat(submit(dispatcher, "refused", Priority.NORMAL).rejection().orElseThrow().status()).isEqualTo(503);

    dispatcher.updateSettings(new Dispatcher.Settings(3, FullPolicy.REJECT, LONG_WAIT));
    TestWaiter admitted = submit(dispatcher, "admitted", Priority.NORMAL);
    dispatcher.updateSettings(new Dispatcher.Settings(3, FullPolicy.REJECT, LONG_WAIT));

    assertThat(admitted.rejection()).isEmpty();
    assertThat(dispatcher.snapshot().size()).isEqualTo(3);
  }

  @Test
  void aShorterLowTimeoutAnswersTheLowHeadAtOnce() {
    Dispatcher dispatcher = dispatcher(10, FullPolicy.REJECT, Duration.ofSeconds(10), backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter low = submit(dispatcher, "low", Priority.LOW);
    clock.advance(Duration.ofMillis(500));

    dispatcher.updateSettings(new Dispatcher.Settings(10, FullPolicy.REJECT, Duration.ofMillis(400).toNanos()));

    assertThat(low.rejection().orElseThrow().status()).isEqualTo(429);
    assertThat(departures).containsExactly("first", "low:429");
  }

  @Test
  void aHigherRateLetsAQueuedWaiterGoSooner() {
    Backend backend = backend("b", 60, 1);
    Dispatcher dispatcher = dispatcher(backend);
    submit(dispatcher, "first", Priority.NORMAL);
    TestWaiter second = submit(dispatcher, "second", Priority.NORMAL);
    clock.advance(Duration.ofMillis(1500)); // one token earned, a half on the way: capacity 1 holds one
    scheduler.runDue();
    TestWaiter third = submit(dispatcher, "third", Priority.NORMAL);
    assertThat(second.dispatched()).isTrue();
    assertThat(third.dispatched()).isFalse();

    backend.setBaseRateRpm(600); // the half token left comes in 50 ms instead of 500
    advance(Duration.ofMillis(100));

    assertThat(third.dispatched()).isTrue();
  }

  @Test
  void theSnapshotShowsDepthPerPriority() {
    Dispatcher dispatcher = dispatcher(backend("b", 60, 1));
    submit(dispatcher, "first", Priority.NORMAL);
    submit(dispatcher, "u", Priority.URGENT);
    submit(dispatcher, "l1", Priority.LOW);
    submit(dispatcher, "l2", Priority.LOW);

    PoolSnapshot snapshot = dispatcher.snapshot();

    assertThat(snapshot.size()).isEqualTo(3);
    assertThat(snapshot.depth()).containsEntry(Priority.URGENT, 1).containsEntry(Priority.HIGH, 0)
        .containsEntry(Priority.NORMAL, 0).containsEntry(Priority.LOW, 2);
    assertThat(snapshot.dispatched()).isEqualTo(1);
    assertThat(snapshot.backends().getFirst().tokens()).isZero();
    assertThat(snapshot.backends().getFirst().retryAfterRemainingNanos()).isZero();
  }
}
