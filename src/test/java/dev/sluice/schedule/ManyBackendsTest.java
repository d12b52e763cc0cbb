package dev.sluice.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.backend.TestBackends;
import dev.sluice.config.FailoverConfig.Selection;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryBudget;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher over several backends, with a manual clock and scheduler: selection (ordered, balanced), the
 * concurrency limit, cooldowns and their precheck, never the same backend twice, backends out of service, and the
 * spill to a fallback pool and an emergency upstream.
 */
class ManyBackendsTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long LONG_WAIT = 3_600 * SECOND;
  private static final URI EMERGENCY = URI.create("http://emergency.internal/v1");
  private final ManualClock clock = new ManualClock();
  private final ManualScheduler scheduler = new ManualScheduler(clock);
  private final List<String> departures = new CopyOnWriteArrayList<>();
  private int names;

  private Dispatcher dispatcher(String pool, Selection selection, Optional<URI> emergency, int queueMax,
      Backend... backends) {
    return new Dispatcher(pool, List.of(backends), new Dispatcher.Settings(queueMax, FullPolicy.REJECT, LONG_WAIT),
        new Dispatcher.Failover(selection, 5 * SECOND, new RetryBudget(20, 60, clock.nanoTime()), emergency), clock,
        scheduler);
  }

  private Dispatcher dispatcher(Selection selection, Backend... backends) {
    return dispatcher("pool", selection, Optional.empty(), 100, backends);
  }

  /** A backend with a key, a cooldown, {@code maxConcurrent} slots and {@code capacity} tokens refilling at 1/s. */
  private Backend backend(String id, int capacity, int maxConcurrent) {
    return TestBackends.withCooldown(id, 60, capacity, maxConcurrent, clock);
  }

  private TestWaiter submit(Dispatcher dispatcher) {
    TestWaiter waiter = new TestWaiter("w" + ++names, Priority.NORMAL, clock.nanoTime(),
        clock.nanoTime() + LONG_WAIT, departures);
    dispatcher.submit(waiter);
    return waiter;
  }

  private void advance(Duration duration) {
    clock.advance(duration);
    scheduler.runDue();
  }

  private static Permit last(TestWaiter waiter) {
    return waiter.permits.getLast();
  }

  private static String backendOf(TestWaiter waiter) {
    return last(waiter).backend().id();
  }

  @Test
  void orderedTakesTheFirstBackendThatCanServeAndSpillsOverToTheNext() {
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, backend("a", 2, 8), backend("b", 2, 8));

    List<TestWaiter> waiters = List.of(submit(dispatcher), submit(dispatcher), submit(dispatcher));

    assertThat(waiters).extracting(ManyBackendsTest::backendOf).containsExactly("a", "a", "b");
  }

  @Test
  void balancedTakesTheLeastLoadedForItsLimits() {
    Dispatcher dispatcher = dispatcher(Selection.BALANCED, backend("a", 40, 4), backend("b", 40, 2));

    List<TestWaiter> waiters = List.of(submit(dispatcher), submit(dispatcher), submit(dispatcher),
        submit(dispatcher));

    // In flight over the limit: a 0/4 = b 0/2 -> a (the tie goes by order); a 1/4 < b 0/2? no: b; a 1/4 < b 1/2 ->
    // a; a 2/4 = b 1/2, and then the share of tokens used breaks the tie: a used 2 of 40, b 1 of 40 -> b.
    assertThat(waiters).extracting(ManyBackendsTest::backendOf).containsExactly("a", "b", "a", "b");
  }

  @Test
  void theConcurrencyLimitHoldsAWaiterUntilASlotIsReleasedWithoutPolling() {
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, backend("a", 40, 2));
    TestWaiter first = submit(dispatcher);
    submit(dispatcher);
    TestWaiter third = submit(dispatcher);
    assertThat(third.dispatched()).isFalse();
    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(LONG_WAIT); // only its deadline

    last(first).release(new Attempt(200, 0));

    assertThat(third.dispatched()).isTrue();
  }

  @Test
  void aRetryWaitsForAnUntriedBackendRatherThanGoBackToTheOneItTried() {
    Backend a = TestBackends.of("a", 60, 40, clock); // no cooldown: it could serve again at once
    Backend b = backend("b", 40, 1);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a, b);
    TestWaiter retried = submit(dispatcher);
    assertThat(backendOf(retried)).isEqualTo("a");
    // Take b's only slot before the retry.
    TestWaiter occupant = new TestWaiter("occupant", Priority.NORMAL, clock.nanoTime(), LONG_WAIT, departures);
    occupant.permits.add(((Backend.Granted) b.tryAcquire(clock.nanoTime())).permit());

    last(retried).release(new Attempt(500, 0));
    dispatcher.requeue(retried);
    assertThat(retried.permits).hasSize(1);

    last(occupant).release(new Attempt(200, 0));
    assertThat(retried.permits).hasSize(2);
    assertThat(backendOf(retried)).isEqualTo("b");
  }

  @Test
  void aPoolsOnlyBackendIsTriedAgain() {
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, TestBackends.of("only", 60, 40, clock));
    TestWaiter waiter = submit(dispatcher);
    last(waiter).release(new Attempt(500, 0));

    dispatcher.requeue(waiter);

    assertThat(waiter.permits).extracting(p -> p.backend().id()).containsExactly("only", "only");
  }

  @Test
  void aCoolingBackendIsPassedOverWhileAnotherCanServe() {
    Backend a = backend("a", 40, 8);
    Backend b = backend("b", 1, 8); // one token, then one a second
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a, b);
    last(submit(dispatcher)).release(new Attempt(429, 0)); // a cools for 5 s

    assertThat(backendOf(submit(dispatcher))).isEqualTo("b");
    TestWaiter next = submit(dispatcher);
    advance(Duration.ofSeconds(1)); // b's next token, while a still cools
    assertThat(backendOf(next)).isEqualTo("b");
    assertThat(a.snapshot().cooldownRemainingNanos()).isEqualTo(4 * SECOND);
  }

  @Test
  void aSlotFreedByACancelledAttemptGoesToTheNextWaiterAtOnce() {
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, backend("a", 40, 1));
    TestWaiter first = submit(dispatcher);
    TestWaiter second = submit(dispatcher);
    assertThat(second.dispatched()).isFalse();

    last(first).release(Attempt.unanswered()); // the caller left before the upstream answered

    assertThat(backendOf(second)).isEqualTo("a");
  }

  @Test
  void aWaiterBehindAHeadThatWaitsForAnUntriedBackendTakesTheBackendTheHeadTried() {
    Backend a = TestBackends.of("a", 60, 40, clock); // no cooldown: it can serve again at once
    Backend b = backend("b", 40, 1);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a, b);
    TestWaiter head = submit(dispatcher);
    TestWaiter occupant = new TestWaiter("occupant", Priority.NORMAL, clock.nanoTime(), LONG_WAIT, departures);
    occupant.permits.add(((Backend.Granted) b.tryAcquire(clock.nanoTime())).permit());
    last(head).release(new Attempt(500, 0));
    dispatcher.requeue(head); // waits for b, the backend it has not tried

    TestWaiter behind = submit(dispatcher);

    assertThat(head.permits).hasSize(1);
    assertThat(backendOf(behind)).isEqualTo("a");
  }

  @Test
  void aRequestWhoseBackendFailedGoesAheadOfEveryLevelButUrgentAndAfterA429ToTheFrontOfItsOwn() {
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, TestBackends.of("a", 60, 1, clock)); // a token a second
    TestWaiter failed = new TestWaiter("failed", Priority.LOW, clock.nanoTime(), LONG_WAIT, departures);
    dispatcher.submit(failed);
    TestWaiter normal = submit(dispatcher); // waits for the next token

    last(failed).release(new Attempt(502, 0));
    dispatcher.requeue(failed, 0, true);
    TestWaiter urgent = new TestWaiter("urgent", Priority.URGENT, clock.nanoTime(), LONG_WAIT, departures);
    dispatcher.submit(urgent);
    advance(Duration.ofSeconds(1));
    assertThat(urgent.dispatched()).isTrue();
    assertThat(failed.permits).hasSize(1);
    advance(Duration.ofSeconds(1));

    assertThat(failed.permits).hasSize(2); // before the normal request that waited longer in its level
    assertThat(normal.dispatched()).isFalse();

    last(failed).release(new Attempt(429, 0));
    dispatcher.requeue(failed); // a 429: the front of the low level, behind the normal one
    advance(Duration.ofSeconds(1));
    assertThat(normal.dispatched()).isTrue();
    assertThat(failed.permits).hasSize(2);
    advance(Duration.ofSeconds(1));
    assertThat(failed.permits).hasSize(3);
  }

  @Test
  void disablingThePoolsLastBackendAnswersItsWaitersAtOnce() {
    Backend a = backend("a", 40, 1);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a);
    submit(dispatcher);
    TestWaiter waiting = submit(dispatcher);

    a.disable();

    assertThat(waiting.rejection()).hasValueSatisfying(r -> assertThat(r.code()).isEqualTo("no_backend_available"));
  }

  @Test
  void withSpillAfterZeroWhatThePoolCannotServeAtOnceMovesOnAndTheRestStays() {
    Dispatcher primary = new Dispatcher("primary", List.of(backend("p", 1, 8)),
        new Dispatcher.Settings(100, FullPolicy.REJECT, LONG_WAIT), new Dispatcher.Failover(Selection.ORDERED, 0,
            new RetryBudget(20, 60, clock.nanoTime()), Optional.empty()), clock, scheduler);
    Dispatcher fallback = dispatcher("fallback", Selection.ORDERED, Optional.empty(), 100, backend("f", 5, 8));
    primary.setFallback(fallback);

    TestWaiter served = submit(primary);
    TestWaiter moved = submit(primary);

    assertThat(backendOf(served)).isEqualTo("p");
    assertThat(served.moves).isEmpty();
    assertThat(moved.moves).containsExactly(fallback);
    assertThat(backendOf(moved)).isEqualTo("f");
  }

  @Test
  void whenNoOtherBackendCanServeACooldownEndingWithinPrecheckDoesNotHoldItBack() {
    Backend a = backend("a", 40, 8);
    Backend b = backend("b", 40, 1);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a, b);
    TestWaiter first = submit(dispatcher);
    TestWaiter occupant = submit(dispatcher); // a again: a has tokens and slots
    assertThat(backendOf(occupant)).isEqualTo("a");
    last(first).release(new Attempt(429, 0)); // a cools 5 s (precheck 2 s)
    TestWaiter bOccupant = submit(dispatcher);
    assertThat(backendOf(bOccupant)).isEqualTo("b"); // b's only slot

    TestWaiter waiting = submit(dispatcher);
    assertThat(waiting.dispatched()).isFalse();
    // The wake is set for 3 s, when a's cooldown is within the precheck threshold, not 5 s.
    assertThat(scheduler.nextDueNanos() - clock.nanoTime()).isEqualTo(3 * SECOND);
    advance(Duration.ofMillis(2_999));
    assertThat(waiting.dispatched()).isFalse();
    advance(Duration.ofMillis(1));
    assertThat(backendOf(waiting)).isEqualTo("a");
  }

  @Test
  void aKeyTheUpstreamRefusesIsDeadAndWithNoOtherBackendWaitersGet503AtOnce() {
    Backend a = backend("a", 40, 8);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a);
    TestWaiter first = submit(dispatcher);
    last(first).release(new Attempt(401, 0));
    assertThat(a.snapshot().state()).isEqualTo("dead");

    TestWaiter next = submit(dispatcher);

    assertThat(next.rejection()).hasValueSatisfying(rejection -> {
      assertThat(rejection.status()).isEqualTo(503);
      assertThat(rejection.code()).isEqualTo("no_backend_available");
      assertThat(rejection.message()).contains("a dead: the upstream answered 401 to its key");
      assertThat(rejection.retryAfterSeconds()).isEqualTo(5);
    });
    assertThat(dispatcher.snapshot().noBackend()).isEqualTo(1);

    a.revive("an operator");
    assertThat(backendOf(submit(dispatcher))).isEqualTo("a");
  }

  @Test
  void aDeadBackendIsSkippedWhileOthersServe() {
    Backend a = backend("a", 40, 8);
    Backend b = backend("b", 40, 8);
    Dispatcher dispatcher = dispatcher(Selection.ORDERED, a, b);
    last(submit(dispatcher)).release(new Attempt(403, 0));
    a.endCooldown();

    assertThat(backendOf(submit(dispatcher))).isEqualTo("b");
    a.disable();
    assertThat(a.snapshot().state()).isEqualTo("disabled");
    assertThat(backendOf(submit(dispatcher))).isEqualTo("b");
  }

  /** A backend with one token that refills at one a minute: after its first request it cannot serve in time. */
  private Backend slow(String id) {
    return TestBackends.withCooldown(id, 1, 1, 8, clock);
  }

  @Test
  void aWaiterMovesToTheFallbackPoolAfterSpillAfterAndIsServedThere() {
    Dispatcher primary = dispatcher("primary", Selection.ORDERED, Optional.empty(), 100, backend("p", 1, 8));
    Dispatcher fallback = dispatcher("fallback", Selection.ORDERED, Optional.empty(), 100, backend("f", 5, 8));
    primary.setFallback(fallback);
    submit(primary);
    List<TestWaiter> waiting = List.of(submit(primary), submit(primary), submit(primary), submit(primary),
        submit(primary), submit(primary), submit(primary));

    for (int i = 0; i < 5; i++) {
      advance(Duration.ofSeconds(1));
    }

    // p refills one token a second: it served five, the fifth with the token of 5 s; then the rest, which had
    // waited spill_after and which p could not serve, moved on, and the fallback pool served them at once.
    assertThat(waiting.subList(0, 5)).allSatisfy(w -> assertThat(backendOf(w)).isEqualTo("p"));
    assertThat(waiting.subList(5, 7)).allSatisfy(w -> {
      assertThat(w.moves).containsExactly(fallback);
      assertThat(backendOf(w)).isEqualTo("f");
    });
    assertThat(primary.snapshot().spilled()).isEqualTo(2);
  }

  @Test
  void withoutAFallbackAWaiterThatWaitedSpillAfterGoesToTheEmergencyUpstream() {
    Dispatcher pool = dispatcher("pool", Selection.ORDERED, Optional.of(EMERGENCY), 100, slow("a"));
    submit(pool);
    TestWaiter spilled = submit(pool);

    advance(Duration.ofMillis(4_999));
    assertThat(spilled.emergencies).isEmpty();
    advance(Duration.ofMillis(1));

    assertThat(spilled.emergencies).containsExactly(EMERGENCY);
    assertThat(spilled.departures()).isEqualTo(1);
    assertThat(pool.snapshot().sentToEmergency()).isEqualTo(1);
  }

  @Test
  void whatTheFallbackPoolCannotServeEitherGoesToTheEmergencyUpstreamOfThePoolItCameFrom() {
    Dispatcher primary = dispatcher("primary", Selection.ORDERED, Optional.of(EMERGENCY), 100, slow("p"));
    Dispatcher fallback = dispatcher("fallback", Selection.ORDERED, Optional.empty(), 100, slow("f"));
    primary.setFallback(fallback);
    submit(primary);
    submit(fallback);
    List<TestWaiter> waiting = List.of(submit(primary), submit(primary));

    advance(Duration.ofSeconds(5));
    assertThat(waiting).allSatisfy(w -> assertThat(w.moves).containsExactly(fallback));
    assertThat(waiting).allSatisfy(w -> assertThat(w.emergencies).isEmpty());
    advance(Duration.ofSeconds(5));

    assertThat(waiting).allSatisfy(w -> {
      assertThat(w.emergencies).containsExactly(EMERGENCY);
      assertThat(w.departures()).isEqualTo(1);
    });
    assertThat(primary.snapshot().spilled()).isEqualTo(2);
    assertThat(fallback.snapshot().sentToEmergency()).isEqualTo(2);
  }

  @Test
  void aFullFallbackQueueRefusesTheMoveWith503WhenThereIsNowhereElse() {
    Dispatcher primary = dispatcher("primary", Selection.ORDERED, Optional.empty(), 100, slow("p"));
    Dispatcher fallback = dispatcher("fallback", Selection.ORDERED, Optional.empty(), 1, slow("f"));
    primary.setFallback(fallback);
    submit(primary);
    submit(fallback);
    TestWaiter fallbacksOwn = submit(fallback); // fills its queue of one
    TestWaiter refused = submit(primary);

    advance(Duration.ofSeconds(5));

    assertThat(refused.rejection()).hasValueSatisfying(r -> {
      assertThat(r.status()).isEqualTo(503);
      assertThat(r.code()).isEqualTo("queue_full");
      assertThat(r.message()).contains("pool fallback, the fallback of the pool this request was waiting in");
    });
    assertThat(fallbacksOwn.departures()).isZero();
  }
}
