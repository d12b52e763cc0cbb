package dev.sluice.backend;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.config.Secret;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.HeaderPacing;
import dev.sluice.limit.QuotaGuard;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.RetreatState;
import dev.sluice.limit.TokenBucket;
import dev.sluice.limit.TokensPerMinute;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The token budgets as the backend applies them: reserve and settle, the quota guard, the provider's headers. */
class BackendTokenBudgetTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long ABSENT = RateHeaders.ABSENT;
  /** How long a reservation made at the start of a slot stays in the tokens-per-minute window: a minute and a slot. */
  private static final long WINDOW = 60 * SECOND + SECOND / 10;
  /** 1000 tokens over 1 h, tripping at 990, one probe every 300 s. */
  private static final QuotaGuard.Policy SMALL_BUDGET = new QuotaGuard.Policy(1_000, Duration.ofHours(1), 99, Duration.ofSeconds(300));
  private static final QuotaGuard.Policy NO_BUDGET = QuotaGuard.Policy.capErrorsOnly();

  private final ManualClock clock = new ManualClock();
  /** What the service listener heard: "out: ..." or "in: ...". */
  private final List<String> changes = new ArrayList<>();
  private int capacityChanges;

  /**
   * A backend with its own key, 600 RPM with a burst of 40, at most 8 in flight, the default cooldown, and these
   * token budgets ({@code tpm} 0 for none).
   */
  private Backend backend(QuotaGuard.Policy quota, long tpm, boolean raiseFromHeaders) {
    return backend(quota, tpm, raiseFromHeaders, 600, 40, new ConcurrencyLimit(false, 8));
  }

  private Backend backend(QuotaGuard.Policy quota, long tpm, boolean raiseFromHeaders, int rateRpm, int capacity,
      ConcurrencyLimit concurrency) {
    return backend(quota, tpm, raiseFromHeaders, rateRpm, capacity, concurrency, Optional.of(Secret.of("sk-b-key")));
  }

  private Backend backend(QuotaGuard.Policy quota, long tpm, boolean raiseFromHeaders, int rateRpm, int capacity,
      ConcurrencyLimit concurrency, Optional<Secret> key) {
    Optional<TokensPerMinute> perMinute = tpm > 0
        ? Optional.of(new TokensPerMinute(tpm)) : Optional.empty();
    Backend backend = new Backend("b", "pool", URI.create("http://127.0.0.1:1/v1"), key,
        new TokenBucket(BucketStore.inMemory(), "b", rateRpm, capacity),
        new RetreatController(RetreatPolicy.defaults(), rateRpm, clock.nanoTime(), (c, s, f, t, r, a, fl) -> { }),
        concurrency, Optional.of(new Cooldown(TestBackends.DEFAULT_COOLDOWN)),
        new Backend.TokenLimits(new QuotaGuard(quota), perMinute, raiseFromHeaders), clock);
    backend.onServiceChange((b, inService, change) -> changes.add((inService ? "in: " : "out: ") + change));
    backend.onCapacityChange(() -> capacityChanges++);
    return backend;
  }

  private long now() {
    return clock.nanoTime();
  }

  private static Permit granted(Backend.Grant grant) {
    assertThat(grant).isInstanceOf(Backend.Granted.class);
    return ((Backend.Granted) grant).permit();
  }

  private Permit acquire(Backend backend, long estimatedTokens) {
    return granted(backend.tryAcquire(now(), estimatedTokens, false));
  }

  private static long tpmAvailable(Backend backend) {
    return backend.snapshot().tpmAvailable();
  }

  private long windowUsage(Backend backend) {
    return backend.quota().snapshot(clock.wallTimeMillis()).windowUsageTokens();
  }

  private static Attempt ok(long usedTokens) {
    return new Attempt(200, 0).withUsage(usedTokens, false);
  }

  // --- reserve and settle ---

  @Test
  void aRequestReservesItsEstimateAndSettlesToItsUsage() {
    Backend backend = backend(NO_BUDGET, 6_000, false);

    Permit permit = acquire(backend, 2_000);
    assertThat(permit.reservedTokens()).isEqualTo(2_000);
    assertThat(tpmAvailable(backend)).isEqualTo(4_000);

    permit.release(ok(500));

    assertThat(tpmAvailable(backend)).as("1500 given back").isEqualTo(5_500);
    assertThat(capacityChanges).as("tokens given back wake the waiters").isEqualTo(1);
    assertThat(windowUsage(backend)).isEqualTo(500);
  }

  @Test
  void usageBeyondTheReservationIsChargedAndTheNextRequestWaitsUntilItLeavesTheWindow() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    Permit permit = acquire(backend, 1_000);

    permit.release(ok(8_000));

    assertThat(tpmAvailable(backend)).isEqualTo(-2_000);
    assertThat(capacityChanges).isZero();
    // The 8,000 count at the instant of the reservation, and leave the window a minute (and a slot) later.
    assertThat(backend.tryAcquire(now(), 100, false)).isEqualTo(new Backend.Wait(now() + WINDOW));
  }

  @Test
  void anEstimateAboveTheLimitReservesTheWholeMinuteAndGoesWhenTheWindowIsEmpty() {
    Backend backend = backend(NO_BUDGET, 6_000, false);

    Permit big = acquire(backend, 50_000);

    assertThat(big.reservedTokens()).isEqualTo(6_000);
    assertThat(backend.tryAcquire(now(), 100, false)).isEqualTo(new Backend.Wait(now() + WINDOW));
    assertThat(backend.tryAcquire(now(), 0, false)).as("a request without an estimate")
        .isInstanceOf(Backend.Granted.class);
  }

  @Test
  void aRequestThatDoesNotFitTakesNeitherTokensNorARequestToken() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    acquire(backend, 5_000);
    long tokens = backend.snapshot().tokens();

    assertThat(backend.tryAcquire(now(), 1_500, false)).isEqualTo(new Backend.Wait(now() + WINDOW));

    assertThat(tpmAvailable(backend)).isEqualTo(1_000);
    assertThat(backend.snapshot().tokens()).isEqualTo(tokens);
  }

  @ParameterizedTest
  @EnumSource(value = Attempt.Failure.class, names = {"CANCELLED", "CONNECT", "RESET", "TIMEOUT"})
  void anAttemptWithoutAnAnswerGivesBackEverythingItReserved(Attempt.Failure failure) {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    Permit permit = acquire(backend, 3_000);

    permit.release(Attempt.failed(failure));

    assertThat(tpmAvailable(backend)).isEqualTo(6_000);
    assertThat(windowUsage(backend)).isZero();
  }

  @Test
  void anErrorAnswerWithoutUsageGivesBackEverything() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    acquire(backend, 3_000).release(new Attempt(503, 0));
    assertThat(tpmAvailable(backend)).isEqualTo(6_000);
  }

  @Test
  void aStreamCutShortSettlesWithTheUsageItsAttemptCarries() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    Permit permit = acquire(backend, 3_000);

    permit.release(new Attempt(200, 0).withUsage(700, true));

    assertThat(tpmAvailable(backend)).isEqualTo(5_300);
    assertThat(windowUsage(backend)).as("an estimate counts in the window too").isEqualTo(700);
  }

  @Test
  void anAnswerWithoutUsageSettlesToWhatItsAttemptCarries() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    acquire(backend, 3_000).release(new Attempt(200, 0));
    assertThat(tpmAvailable(backend)).as("nothing counted, everything back").isEqualTo(6_000);
    assertThat(windowUsage(backend)).isZero();
  }

  @Test
  void withoutATpmNothingIsReservedButUsageStillCountsInTheWindow() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    Permit permit = acquire(backend, 1_000_000);

    assertThat(permit.reservedTokens()).as("the estimate, for telling a tokens 429; no bucket to settle")
        .isEqualTo(1_000_000);
    permit.release(ok(300));

    assertThat(backend.tpm()).isZero();
    assertThat(windowUsage(backend)).isEqualTo(300);
  }

  // --- the quota guard ---

  /** Uses 995 of {@link #SMALL_BUDGET} and lets the guard trip at the next request. */
  private void exceed(Backend backend) {
    acquire(backend, 0).release(ok(995));
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 300 * SECOND));
  }

  @Test
  void anExceededBackendWaitsForItsProbeAndGrantsExactlyOneProbePermit() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    assertThat(changes).containsExactly("out: quota exceeded: 995 tokens in the last 1 h, 99.5 % of the budget of"
        + " 1000 (threshold 99 %); one probe every 300 s");
    assertThat(backend.snapshot().state()).isEqualTo("quota_exceeded");

    clock.advance(Duration.ofMillis(299_999));
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 1_000_000));
    clock.advance(Duration.ofMillis(1));
    Permit probe = acquire(backend, 0);

    assertThat(probe.probe()).isTrue();
    // While the probe is out only its answer, or the usage leaving the hour's window, makes room.
    long windowEnds = Duration.ofHours(1).toNanos();
    assertThat(backend.tryAcquire(now(), 0, false)).as("while the probe is out")
        .isEqualTo(new Backend.Wait(windowEnds));
    clock.advance(Duration.ofSeconds(400));
    assertThat(backend.tryAcquire(now(), 0, true)).isEqualTo(new Backend.Wait(windowEnds));
    assertThat(backend.quota().snapshot(clock.wallTimeMillis()).probes()).isEqualTo(1);
  }

  @Test
  void theProbesAnswerWakesTheWaitersAndAnAcceptedOneRestoresTheBackend() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    clock.advance(Duration.ofSeconds(300));
    Permit probe = acquire(backend, 0);
    int before = capacityChanges;

    probe.release(ok(10));

    assertThat(capacityChanges).isEqualTo(before + 1);
    assertThat(backend.quota().state()).isEqualTo(QuotaState.WITHIN_QUOTA);
    assertThat(changes).last().isEqualTo("in: within quota again: the probe was accepted");
    Permit next = acquire(backend, 0);
    assertThat(next.probe()).isFalse();
  }

  @Test
  void aRefusedProbeWakesTheWaitersToo() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    clock.advance(Duration.ofSeconds(300));
    Permit probe = acquire(backend, 0);
    int before = capacityChanges;

    probe.release(new Attempt(429, 0).asQuotaError());

    assertThat(capacityChanges).as("the waiters wait for the next probe now, not for an answer")
        .isEqualTo(before + 1);
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 300 * SECOND));
  }

  @Test
  void aLostProbeLetsTheNextGoAtOnce() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    clock.advance(Duration.ofSeconds(300));
    Permit probe = acquire(backend, 0);
    int before = capacityChanges;

    probe.release(Attempt.unanswered());

    assertThat(capacityChanges).isEqualTo(before + 1);
    assertThat(acquire(backend, 0).probe()).isTrue();
  }

  @Test
  void aProbeHeldBackByAnotherLimitIsNotSpent() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    clock.advance(Duration.ofSeconds(300));
    backend.onRateHeaders(new RateHeaders(ABSENT, 0, 10 * SECOND, ABSENT, ABSENT, ABSENT), now());

    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 10 * SECOND));
    assertThat(backend.quota().snapshot(clock.wallTimeMillis()).probes()).isZero();

    clock.advance(Duration.ofSeconds(10));
    assertThat(acquire(backend, 0).probe()).isTrue();
  }

  @Test
  void usageSlidingOutOfTheWindowRestoresTheBackendAndTheListenerHearsIt() {
    Backend backend = backend(new QuotaGuard.Policy(1_000, Duration.ofHours(1), 99, Duration.ofHours(2)), 0, false);
    acquire(backend, 0).release(ok(995));
    // The manual clock starts at 00:00:01; the usage leaves the 1 h window at 01:00:00.
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 3_599 * SECOND));

    clock.advance(Duration.ofSeconds(3_599));

    assertThat(backend.tryAcquire(now(), 0, false)).isInstanceOf(Backend.Granted.class);
    assertThat(changes).last().isEqualTo("in: within quota again: usage slid below the threshold");
  }

  @Test
  void aQuotaErrorToTheCallersOwnKeyHoldsNobodyElseBack() {
    Backend backend = backend(NO_BUDGET, 0, false, 600, 40, new ConcurrencyLimit(false, 8), Optional.empty());
    acquire(backend, 0).release(new Attempt(429, 600 * SECOND, 0, ABSENT).asQuotaError());

    assertThat(backend.quota().state()).isEqualTo(QuotaState.WITHIN_QUOTA);
    assertThat(changes).isEmpty();
  }

  @Test
  void aProbeThatTimedOutCountsAsSentAndTheNextWaitsAFullInterval() {
    Backend backend = backend(NO_BUDGET, 0, false);
    acquire(backend, 0).release(new Attempt(429, 0, 0, ABSENT).asQuotaError());
    clock.advance(Duration.ofSeconds(300));
    acquire(backend, 0).release(Attempt.failed(Attempt.Failure.TIMEOUT));

    assertThat(backend.tryAcquire(now(), 0, false)).as("the provider may have had it")
        .isEqualTo(new Backend.Wait(now() + 300 * SECOND));
    acquireAfter(backend, Duration.ofSeconds(300)).release(Attempt.failed(Attempt.Failure.CONNECT));
    assertThat(backend.quota().admit(clock.wallTimeMillis())).as("it never left: the next may go at once (when the"
        + " cooldown after the connect failure allows)").isEqualTo(new QuotaGuard.Admit(true));
  }

  private Permit acquireAfter(Backend backend, Duration wait) {
    clock.advance(wait);
    return acquire(backend, 0);
  }

  @Test
  void aResetWhileAProbeIsOutLetsTrafficGoAndALaterTripProbesAgain() {
    Backend backend = backend(NO_BUDGET, 0, false);
    acquire(backend, 0).release(new Attempt(429, 0, 0, ABSENT).asQuotaError());
    Permit probe = acquireAfter(backend, Duration.ofSeconds(300));
    assertThat(probe.probe()).isTrue();

    backend.resetQuota();
    acquire(backend, 0).release(new Attempt(429, 0, 0, ABSENT).asQuotaError());

    assertThat(acquireAfter(backend, Duration.ofSeconds(300)).probe()).as("not held by the old probe").isTrue();
  }

  @Test
  void aBackendRestoredByAProbeIsNotTrippedAgainByARestart() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    acquire(backend, 0).release(ok(995));
    assertThat(backend.tryAcquire(now(), 0, false)).isInstanceOf(Backend.Wait.class);
    acquireAfter(backend, Duration.ofSeconds(300)).release(ok(5));
    assertThat(backend.quota().state()).isEqualTo(QuotaState.WITHIN_QUOTA);

    Backend restarted = backend(SMALL_BUDGET, 0, false);
    restarted.restore(backend.saved(), backend.changedUsage());

    assertThat(restarted.tryAcquire(now(), 0, false)).isInstanceOf(Backend.Granted.class);
  }

  @Test
  void theSnapshotShowsUsageThatSlidOutWithoutARequestAskingFirst() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    acquire(backend, 0).release(ok(995));
    assertThat(backend.snapshot().state()).as("the threshold reached shows at once").isEqualTo("quota_exceeded");

    clock.advance(Duration.ofHours(1));

    assertThat(backend.snapshot().state()).isEqualTo("active");
  }

  @Test
  void theProvidersQuotaErrorTripsTheGuardButNeitherCoolsNorHoldsNorJudgesTheRate() {
    Backend backend = backend(NO_BUDGET, 0, false);
    acquire(backend, 0).release(new Attempt(429, 600 * SECOND, 0, ABSENT).asQuotaError());

    assertThat(backend.quota().state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(changes).containsExactly(
        "out: quota exceeded: the provider answered 429 with its quota error; one probe every 660 s");
    BackendSnapshot snapshot = backend.snapshot();
    assertThat(snapshot.cooldownRemainingNanos()).isZero();
    assertThat(snapshot.consecutiveFailures()).isZero();
    assertThat(snapshot.retryAfterRemainingNanos()).isZero();
    assertThat(snapshot.tokens()).as("the bucket keeps its burst").isEqualTo(39);
    assertThat(snapshot.refusals()).isEmpty();
    assertThat(snapshot.retreat().ratio429()).isZero();
    assertThat(snapshot.rateRpm()).isEqualTo(600);
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 660 * SECOND));
  }

  @Test
  void aQuotaErrorAnswered403DoesNotMarkTheKeyDead() {
    Backend backend = backend(NO_BUDGET, 0, false);

    acquire(backend, 0).release(new Attempt(403, 0).asQuotaError());

    assertThat(backend.outOfService()).isEmpty();
    assertThat(backend.quota().state()).isEqualTo(QuotaState.QUOTA_EXCEEDED);
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 300 * SECOND));
  }

  @Test
  void anOperatorsResetRestoresTheBackendAndWakesTheWaiters() {
    Backend backend = backend(SMALL_BUDGET, 0, false);
    exceed(backend);
    int before = capacityChanges;

    backend.resetQuota();

    assertThat(capacityChanges).isEqualTo(before + 1);
    assertThat(changes).last().isEqualTo("in: within quota again: reset by an operator");
    assertThat(windowUsage(backend)).isZero();
    assertThat(backend.tryAcquire(now(), 0, false)).isInstanceOf(Backend.Granted.class);
  }

  // --- the provider's headers ---

  @Test
  void theProvidersRemainingRequestsPaceTheBackendUntilTheirReset() {
    Backend backend = backend(NO_BUDGET, 0, false);
    backend.onRateHeaders(new RateHeaders(ABSENT, 2, 10 * SECOND, ABSENT, ABSENT, ABSENT), now());

    acquire(backend, 0);
    acquire(backend, 0);

    assertThat(backend.snapshot().providerRequestsLeft()).isZero();
    assertThat(backend.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 10 * SECOND));
    assertThat(backend.acceptsUnshaped(now())).isFalse();
    clock.advance(Duration.ofSeconds(10));
    acquire(backend, 0);
    assertThat(backend.snapshot().providerRequestsLeft()).isEqualTo(HeaderPacing.UNKNOWN);
  }

  @Test
  void theProvidersRemainingTokensHoldARequestThatCostsMore() {
    Backend backend = backend(NO_BUDGET, 100_000, false);
    backend.onRateHeaders(new RateHeaders(ABSENT, ABSENT, ABSENT, ABSENT, 1_000, 20 * SECOND), now());

    assertThat(backend.tryAcquire(now(), 1_500, false)).isEqualTo(new Backend.Wait(now() + 20 * SECOND));
    acquire(backend, 800);
    assertThat(backend.snapshot().providerTokensLeft()).isEqualTo(200);
    assertThat(backend.tryAcquire(now(), 300, false)).isEqualTo(new Backend.Wait(now() + 20 * SECOND));
    acquire(backend, 200);
  }

  @Test
  void headersWithoutCountsChangeNothing() {
    Backend backend = backend(NO_BUDGET, 0, true);
    backend.onRateHeaders(RateHeaders.NONE, now());
    assertThat(backend.snapshot().providerRequestsLeft()).isEqualTo(HeaderPacing.UNKNOWN);
    assertThat(capacityChanges).isZero();
  }

  @Test
  void theProvidersLimitsRaiseALowerConfiguredRateAndTpmWhenAllowed() {
    Backend backend = backend(NO_BUDGET, 6_000, true);

    backend.onRateHeaders(new RateHeaders(1_200, 1_199, SECOND, 90_000, 89_000, SECOND), now());

    assertThat(backend.rateRpm()).isEqualTo(1_200);
    assertThat(backend.snapshot().retreat().baseRpm()).isEqualTo(1_200);
    assertThat(backend.tpm()).isEqualTo(90_000);
    assertThat(capacityChanges).isEqualTo(1);

    backend.onRateHeaders(new RateHeaders(300, 299, SECOND, 1_000, 900, SECOND), now());
    assertThat(backend.rateRpm()).as("never lowered by headers").isEqualTo(1_200);
    assertThat(backend.tpm()).isEqualTo(90_000);
    assertThat(capacityChanges).isEqualTo(1);
  }

  @Test
  void aRaiseStopsAtTheHighestConfigurableRate() {
    Backend backend = backend(NO_BUDGET, 0, true);
    backend.onRateHeaders(new RateHeaders(5_000_000, ABSENT, SECOND, 90_000, ABSENT, SECOND), now());
    assertThat(backend.rateRpm()).isEqualTo(100_000);
    assertThat(backend.tpm()).as("no tpm budget to raise").isZero();
  }

  @Test
  void aLimitOfALongerWindowThanAMinuteRaisesNothing() {
    Backend backend = backend(NO_BUDGET, 6_000, true);
    // Requests per day, as some providers count them: 14,400 a day is not 14,400 a minute.
    backend.onRateHeaders(new RateHeaders(14_400, 14_000, Duration.ofHours(3).toNanos(), 1_000_000, 999_000,
        Duration.ofMinutes(90).toNanos()), now());
    assertThat(backend.rateRpm()).isEqualTo(600);
    assertThat(backend.tpm()).isEqualTo(6_000);
  }

  @Test
  void withoutRaisingTheProvidersLimitsOnlyPace() {
    Backend backend = backend(NO_BUDGET, 6_000, false);

    backend.onRateHeaders(new RateHeaders(1_200, 1_199, SECOND, 90_000, 89_000, SECOND), now());

    assertThat(backend.rateRpm()).isEqualTo(600);
    assertThat(backend.tpm()).isEqualTo(6_000);
    assertThat(capacityChanges).isZero();
  }

  // --- the wait for the next request ---

  @Test
  void theWaitForTheNextRequestIncludesTheTokensPerMinute() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    acquire(backend, 6_000);

    assertThat(backend.nanosUntilServable(now(), 1_000)).isEqualTo(WINDOW);
    assertThat(backend.nanosUntilServable(now(), 0)).isZero();
  }

  @Test
  void theWaitForTheNextRequestIncludesThePacing() {
    Backend backend = backend(NO_BUDGET, 0, false);
    backend.onRateHeaders(new RateHeaders(ABSENT, 0, 7 * SECOND, ABSENT, 500, 9 * SECOND), now());

    assertThat(backend.nanosUntilServable(now(), 0)).isEqualTo(7 * SECOND);
    assertThat(backend.nanosUntilServable(now(), 501)).isEqualTo(9 * SECOND);
  }

  @Test
  void theWaitForTheNextRequestIncludesTheQuotaGuardsProbe() {
    Backend backend = backend(SMALL_BUDGET, 6_000, false);
    exceed(backend);
    clock.advance(Duration.ofSeconds(100));

    assertThat(backend.nanosUntilServable(now(), 0)).isEqualTo(200 * SECOND);
  }

  @Test
  void theWaitForTheNextRequestIsTheLongestOfItsLimits() {
    Backend backend = backend(NO_BUDGET, 6_000, false);
    acquire(backend, 6_000);
    Permit refused = acquire(backend, 0);
    backend.onRateHeaders(new RateHeaders(ABSENT, 0, 3 * SECOND, ABSENT, ABSENT, ABSENT), now());
    refused.release(new Attempt(429, 0).asQuotaError());

    assertThat(backend.nanosUntilServable(now(), 100)).isEqualTo(300 * SECOND);
    clock.advance(Duration.ofSeconds(300));
    assertThat(backend.nanosUntilServable(now(), 100)).isZero();
  }

  // --- saved state ---

  /** Ten accepted and five refused for the rate every second, each burst's cooldown ended by an operator. */
  private void refusedAThird(Backend backend, int seconds) {
    for (int s = 0; s < seconds; s++) {
      List<Permit> permits = new ArrayList<>();
      for (int i = 0; i < 15; i++) {
        permits.add(acquire(backend, 0));
      }
      for (int i = 0; i < 15; i++) {
        permits.get(i).release(i < 10 ? ok(1) : new Attempt(429, 0, 0, ABSENT));
      }
      backend.endCooldown();
      clock.advance(Duration.ofSeconds(1));
    }
  }

  @Test
  void aSavedStateRestoredIntoAFreshBackendIsTheSameState() {
    Backend before = backend(SMALL_BUDGET, 0, false, 6_000, 100, new ConcurrencyLimit(true, 20));
    refusedAThird(before, 3);
    assertThat(before.snapshot().retreat().state()).isEqualTo(RetreatState.RETREAT);
    before.changeConcurrency((limit, wallMillis) -> limit.setLimit(12, wallMillis));
    Permit refusedKey = acquire(before, 0);
    Permit quotaError = acquire(before, 0);
    Permit failed = acquire(before, 0);
    refusedKey.release(new Attempt(401, 0));
    quotaError.release(new Attempt(429, 900 * SECOND).asQuotaError().withUsage(20, false));
    failed.release(new Attempt(502, 0));
    clock.advance(Duration.ofSeconds(2));
    SavedState saved = before.saved();
    List<UsageMinute> usage = before.changedUsage();

    assertThat(saved.outOfService()).hasValueSatisfying(o -> assertThat(o.status()).isEqualTo(401));
    assertThat(saved.cooldownConsecutive()).isEqualTo(1);
    assertThat(saved.cooldownEndMillis()).isEqualTo(clock.wallTimeMillis() + 3_000);
    assertThat(saved.adaptiveConcurrency()).isTrue();
    assertThat(saved.concurrencyLimit()).isEqualTo(12);
    assertThat(saved.retreatState()).isEqualTo("RETREAT");
    assertThat(saved.retreatRateRpm()).isLessThan(6_000);
    assertThat(saved.quotaExceeded()).isTrue();
    assertThat(saved.quotaProbeIntervalMillis()).isEqualTo(990_000);
    assertThat(usage.stream().mapToLong(UsageMinute::tokens).sum()).isEqualTo(30 + 20);

    Backend after = backend(SMALL_BUDGET, 0, false, 6_000, 100, new ConcurrencyLimit(true, 20));
    after.restore(saved, usage);

    assertThat(after.saved()).isEqualTo(saved);
    assertThat(after.snapshot().rateRpm()).isEqualTo(saved.retreatRateRpm());
    assertThat(after.snapshot().cooldownRemainingNanos()).isEqualTo(3 * SECOND);
    assertThat(windowUsage(after)).isEqualTo(50);
    assertThat(after.changedUsage()).as("what was restored is stored already").isEmpty();
    assertThat(after.tryAcquire(now(), 0, false)).isEqualTo(Backend.Out.INSTANCE);
  }

  @Test
  void aBackendInServiceRoundTripsToo() {
    Backend before = backend(SMALL_BUDGET, 6_000, false);
    acquire(before, 100).release(ok(400));
    SavedState saved = before.saved();

    Backend after = backend(SMALL_BUDGET, 6_000, false);
    after.restore(saved, before.changedUsage());

    assertThat(after.saved()).isEqualTo(saved);
    assertThat(saved.outOfService()).isEmpty();
    assertThat(saved.cooldownEndMillis()).isZero();
    assertThat(saved.quotaExceeded()).isFalse();
    assertThat(windowUsage(after)).isEqualTo(400);
  }

  @Test
  void aRestoredTripWaitsForItsProbeAndTheListenerHearsTheRestore() {
    Backend before = backend(SMALL_BUDGET, 0, false);
    exceed(before);
    Backend after = backend(SMALL_BUDGET, 0, false);
    after.restore(before.saved(), before.changedUsage());
    changes.clear();

    assertThat(after.tryAcquire(now(), 0, false)).isEqualTo(new Backend.Wait(now() + 300 * SECOND));
    clock.advance(Duration.ofSeconds(300));
    acquire(after, 0).release(ok(1));

    assertThat(changes).containsExactly("in: within quota again: the probe was accepted");
  }
}
