package dev.sluice.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.config.Secret;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.QuotaGuard;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class StateKeeperTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MILLIS_PER_MINUTE = 60_000L;

  private final ManualClock clock = new ManualClock();
  private final RecordingStateStore store = new RecordingStateStore();

  /** A backend with its own key, a cooldown and a budget of 1000 tokens over {@code windowHours}. */
  private Backend backend(String id, int windowHours) {
    return new Backend(id, "pool", URI.create("http://127.0.0.1:1/v1"), Optional.of(Secret.of("sk-" + id + "-key")),
        new TokenBucket(BucketStore.inMemory(), id, 600, 40),
        new RetreatController(RetreatPolicy.defaults(), 600, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        new ConcurrencyLimit(false, 8), Optional.of(new Cooldown(TestBackends.DEFAULT_COOLDOWN)),
        new Backend.TokenLimits(new QuotaGuard(new QuotaGuard.Policy(1_000, Duration.ofHours(windowHours), 99,
            Duration.ofSeconds(300))), Optional.empty(), false), clock);
  }

  private long minuteNow() {
    return Math.floorDiv(clock.wallTimeMillis(), MILLIS_PER_MINUTE);
  }

  private void use(Backend backend, long tokens) {
    ((Backend.Granted) backend.tryAcquire(clock.nanoTime())).permit()
        .release(new Attempt(200, 0).withUsage(tokens, false));
  }

  private long windowUsage(Backend backend) {
    return backend.quota().snapshot(clock.wallTimeMillis()).windowUsageTokens();
  }

  private SavedState coolingAndExceeded(String id) {
    long wall = clock.wallTimeMillis();
    return new SavedState(id, Optional.empty(), 2, wall + 7_000, false, 8, "NORMAL", 600, true, wall - 1_000,
        "over quota", wall - 1_000, 330_000);
  }

  @Test
  void restoreTakesUpTheSavedStatesAndUsageOfTheConfiguredBackends() {
    Backend a = backend("a", 5);
    Backend b = backend("b", 5);
    Backend c = backend("c", 5);
    SavedState savedA = coolingAndExceeded("a");
    store.states.put("a", savedA);
    store.states.put("gone", coolingAndExceeded("gone"));
    long minute = minuteNow();
    store.usage.computeIfAbsent("a", k -> new TreeMap<>()).putAll(Map.of(minute - 300, 5_000L,
        minute - 299, 400L, minute, 300L));
    store.usage.computeIfAbsent("b", k -> new TreeMap<>()).put(minute - 10, 70L);
    StateKeeper keeper = new StateKeeper(store, List.of(a, b, c), clock);

    assertThat(keeper.restore()).isEqualTo(2);

    assertThat(store.usageAskedFrom).containsExactly(minute - 299);
    assertThat(a.saved()).isEqualTo(savedA);
    assertThat(a.snapshot().cooldownRemainingNanos()).isEqualTo(7 * SECOND);
    assertThat(a.snapshot().state()).isEqualTo("quota_exceeded");
    assertThat(windowUsage(a)).isEqualTo(700);
    assertThat(windowUsage(b)).isEqualTo(70);
    assertThat(b.saved().quotaExceeded()).isFalse();
    assertThat(windowUsage(c)).isZero();
    assertThat(a.tryAcquire(clock.nanoTime())).isInstanceOf(Backend.Wait.class);
  }

  @Test
  void aFlushAfterARestoreWritesOnlyWhatWasNotRestored() {
    Backend a = backend("a", 5);
    Backend b = backend("b", 5);
    store.states.put("a", coolingAndExceeded("a"));
    store.usage.computeIfAbsent("a", k -> new TreeMap<>()).put(minuteNow(), 300L);
    StateKeeper keeper = new StateKeeper(store, List.of(a, b), clock);
    keeper.restore();

    assertThat(keeper.flush()).isEqualTo(1);

    assertThat(store.writes).hasSize(1);
    assertThat(store.writes.getFirst().states()).extracting(SavedState::backendId).containsExactly("b");
    assertThat(store.writes.getFirst().usage()).isEmpty();
  }

  @Test
  void aFlushWritesOnlyTheStatesAndMinutesThatChanged() {
    Backend a = backend("a", 5);
    Backend b = backend("b", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a, b), clock);
    keeper.restore();
    keeper.flush();
    store.writes.clear();

    use(a, 100);
    use(a, 20);
    clock.advance(Duration.ofMinutes(1));
    use(a, 5);
    assertThat(keeper.flush()).as("no state changed").isZero();

    long minute = minuteNow();
    assertThat(store.writes).hasSize(1);
    assertThat(store.writes.getFirst().states()).isEmpty();
    assertThat(store.writes.getFirst().usage()).containsExactly(Map.entry("a",
        List.of(new UsageMinute(minute - 1, 120), new UsageMinute(minute, 5))));

    ((Backend.Granted) b.tryAcquire(clock.nanoTime())).permit().release(new Attempt(429, 0).asQuotaError());
    use(a, 1);
    assertThat(keeper.flush()).isEqualTo(1);

    RecordingStateStore.Write second = store.writes.get(1);
    assertThat(second.states()).containsExactly(b.saved());
    assertThat(second.usage()).containsExactly(Map.entry("a", List.of(new UsageMinute(minute, 6))));
  }

  @Test
  void nothingIsWrittenWhenNothingChanged() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    keeper.restore();
    keeper.flush();
    int writes = store.writes.size();

    clock.advance(Duration.ofSeconds(5));

    assertThat(keeper.flush()).isZero();
    assertThat(keeper.flush()).isZero();
    assertThat(store.writes).hasSize(writes);
  }

  @Test
  void aCooldownEndingIsAChangeOfState() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    keeper.flush();
    ((Backend.Granted) a.tryAcquire(clock.nanoTime())).permit().release(new Attempt(503, 0));
    assertThat(keeper.flush()).isEqualTo(1);
    assertThat(store.states.get("a").cooldownEndMillis()).isEqualTo(clock.wallTimeMillis() + 5_000);

    clock.advance(Duration.ofSeconds(1));
    assertThat(keeper.flush()).as("still the same end").isZero();
    clock.advance(Duration.ofSeconds(4));

    assertThat(keeper.flush()).isEqualTo(1);
    assertThat(store.states.get("a").cooldownEndMillis()).isZero();
  }

  @Test
  void aFailedWriteKeepsItsUsageAndStatesAndTheNextFlushWritesThem() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    keeper.flush();
    store.writes.clear();
    use(a, 100);
    a.changeConcurrency((limit, wallMillis) -> limit.setLimit(4, wallMillis));
    store.failuresToCome = 1;

    assertThatThrownBy(keeper::flush).isInstanceOf(IllegalStateException.class).hasMessage("disk full");
    assertThat(store.writes).isEmpty();

    use(a, 50);
    clock.advance(Duration.ofMinutes(1));
    use(a, 30);
    assertThat(keeper.flush()).isEqualTo(1);

    long minute = minuteNow();
    assertThat(store.writes).hasSize(1);
    assertThat(store.writes.getFirst().states()).containsExactly(a.saved());
    assertThat(store.states.get("a").concurrencyLimit()).isEqualTo(4);
    assertThat(store.writes.getFirst().usage()).containsExactly(Map.entry("a",
        List.of(new UsageMinute(minute - 1, 150), new UsageMinute(minute, 30))));
    assertThat(store.usage.get("a")).containsExactly(Map.entry(minute - 1, 150L), Map.entry(minute, 30L));
    assertThat(keeper.flush()).isZero();
    assertThat(store.writes).hasSize(1);
  }

  @Test
  void usageOlderThanTheLongestWindowIsPruned() {
    Backend shortWindow = backend("short", 1);
    Backend longWindow = backend("long", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(shortWindow, longWindow), clock);

    keeper.flush();

    assertThat(store.writes.getFirst().pruneBeforeMinute()).isEqualTo(minuteNow() - 300 + 1);
  }

  @Test
  void aResetQuotaIsWrittenAsZeroForEveryMinuteTheWindowHeld() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    use(a, 100);
    keeper.flush();
    clock.advance(Duration.ofMinutes(1));
    use(a, 200);
    keeper.flush();
    clock.advance(Duration.ofMinutes(1));
    use(a, 300);

    a.resetQuota();
    keeper.flush();

    assertThat(store.usage.get("a").values()).containsOnly(0L);
    Backend restarted = backend("a", 5);
    new StateKeeper(store, List.of(restarted), clock).restore();
    assertThat(windowUsage(restarted)).isZero();
  }

  @Test
  void closeWritesWhatIsLeftAndClosesTheStore() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    keeper.flush();
    use(a, 42);

    keeper.close();

    assertThat(store.usage.get("a")).containsExactly(Map.entry(minuteNow(), 42L));
    assertThat(store.closed).isTrue();
  }

  @Test
  void closeClosesTheStoreEvenWhenTheLastWriteFails() {
    Backend a = backend("a", 5);
    StateKeeper keeper = new StateKeeper(store, List.of(a), clock);
    use(a, 42);
    store.failuresToCome = 1;

    keeper.close();

    assertThat(store.writes).isEmpty();
    assertThat(store.closed).isTrue();
  }

  @Test
  void aRestartRestoresWhatTheLastProcessWrote() {
    Backend before = backend("a", 5);
    StateKeeper first = new StateKeeper(store, List.of(before), clock);
    first.restore();
    use(before, 600);
    ((Backend.Granted) before.tryAcquire(clock.nanoTime())).permit()
        .release(new Attempt(429, 30 * SECOND).asQuotaError().withUsage(10, false));
    first.close();

    clock.advance(Duration.ofSeconds(20));
    Backend after = backend("a", 5);
    assertThat(new StateKeeper(store, List.of(after), clock).restore()).isEqualTo(1);

    assertThat(after.saved()).isEqualTo(before.saved());
    assertThat(windowUsage(after)).isEqualTo(610);
  }
}
