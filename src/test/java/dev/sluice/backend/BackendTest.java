package dev.sluice.backend;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.junit.jupiter.api.Test;

class BackendTest {
  private static final long SECOND = 1_000_000_000L;

  private final ManualClock clock = new ManualClock();
  private final Backend backend = TestBackends.of("b", 600, 40, clock);

  private Permit acquire() {
    return ((Backend.Granted) backend.tryAcquire(clock.nanoTime())).permit();
  }

  private long tokens() {
    return backend.snapshot().tokens();
  }

  private static Attempt refused(long retryAfterNanos, long remainingRequests) {
    return new Attempt(429, retryAfterNanos, remainingRequests, Attempt.ABSENT);
  }

  @Test
  void aRateRefusalEmptiesTheBucketItsBurstIsNotThereUpstream() {
    acquire().release(refused(0, 0));

    assertThat(tokens()).isZero();
    clock.advance(Duration.ofMillis(100));
    assertThat(backend.tryAcquire(clock.nanoTime())).as("the rate goes on").isInstanceOf(Backend.Granted.class);
  }

  @Test
  void aConcurrencyRefusalKeepsTheBucketAndJudgesNoRate() {
    for (int i = 0; i < 30; i++) {
      acquire().release(refused(0, 12));
    }

    assertThat(tokens()).isEqualTo(10);
    assertThat(backend.snapshot().retreat().ratio429()).isZero();
  }

  @Test
  void beforeAnyAcceptedAnswerARefusalWithoutHeadersCountsAgainstTheRate() {
    List<Permit> inFlight = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      inFlight.add(acquire());
    }
    // Nothing has shown yet how long requests stay in flight, so "many at once" cannot be told.
    inFlight.getLast().release(refused(0, Attempt.ABSENT));

    assertThat(tokens()).isZero();
    assertThat(backend.snapshot().lastRefusal()).contains(RefusalKind.UNKNOWN);
  }

  @Test
  void theAnswerTimeSetsHowManyInFlightAreExpected() {
    // 600 RPM and 1 s answers keep 10 in flight: "many" is more than 2 x 10 + 1.
    Permit first = acquire();
    clock.advance(Duration.ofSeconds(1));
    first.release(new Attempt(200, 0));
    // An error answer says nothing of how long accepted requests take.
    Permit failed = acquire();
    clock.advance(Duration.ofSeconds(100));
    failed.release(new Attempt(503, 0));
    List<Permit> inFlight = new ArrayList<>();
    for (int i = 0; i < 23; i++) {
      inFlight.add(acquire());
    }
    inFlight.get(22).release(refused(0, Attempt.ABSENT));
    assertThat(tokens()).as("sent with 22 in flight").isEqualTo(40 - 23);
    assertThat(backend.snapshot().lastRefusal()).contains(RefusalKind.CONCURRENCY);

    inFlight.get(21).release(refused(0, Attempt.ABSENT));
    assertThat(tokens()).as("sent with 21 in flight").isZero();
  }

  @Test
  void aHoldEndsWithAtMostOneSecondOfTokensNotWhatPiledUpMeanwhile() {
    acquire().release(refused(30 * SECOND, 0));
    assertThat(backend.tryAcquire(clock.nanoTime())).isEqualTo(new Backend.Wait(clock.nanoTime() + 30 * SECOND));

    clock.advance(Duration.ofSeconds(30));

    // 30 s at 600 RPM would fill the bucket (40); one second's worth is 10.
    int granted = 0;
    while (backend.tryAcquire(clock.nanoTime()) instanceof Backend.Granted) {
      granted++;
    }
    assertThat(granted).isEqualTo(10);
  }

  @Test
  void aConcurrencyRefusalHoldsForItsRetryAfterButKeepsTheTokens() {
    acquire().release(refused(SECOND, 5));
    assertThat(backend.tryAcquire(clock.nanoTime())).isInstanceOf(Backend.Wait.class);
    assertThat(tokens()).isEqualTo(39);

    clock.advance(Duration.ofSeconds(1));

    int granted = 0;
    while (backend.tryAcquire(clock.nanoTime()) instanceof Backend.Granted) {
      granted++;
    }
    assertThat(granted).as("nothing trimmed after the hold").isEqualTo(40);
  }

  @Test
  void unshapedRequestsNeverPutTheBucketInDebtAndJudgeNoRate() {
    while (backend.tryAcquire(clock.nanoTime()) instanceof Backend.Granted) {
      // empty the bucket
    }
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).isTrue();
    for (int i = 0; i < 50; i++) {
      Permit permit = backend.unshapedPermit(clock.nanoTime());
      assertThat(permit.unshaped()).isTrue();
      permit.release(new Attempt(200, 0));
    }
    assertThat(tokens()).isZero();

    for (int i = 0; i < 50; i++) {
      clock.advance(Duration.ofMillis(100));
      backend.unshapedPermit(clock.nanoTime()).release(refused(0, 0));
    }

    assertThat(backend.snapshot().retreat().state()).isEqualTo(RetreatState.NORMAL);
    assertThat(backend.snapshot().rateRpm()).isEqualTo(600);
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).as("refused within the window").isFalse();
  }

  @Test
  void unshapedRequestsWaitOutAnUpstreamRetryAfter() {
    acquire().release(refused(5 * SECOND, 12));

    assertThat(backend.acceptsUnshaped(clock.nanoTime())).isFalse();
    clock.advance(Duration.ofSeconds(5));
    assertThat(backend.acceptsUnshaped(clock.nanoTime())).as("a concurrency refusal is not a limit").isTrue();
  }

  @Test
  void theWaitForTheNextRequestIncludesTheUpstreamsHold() {
    acquire().release(refused(3 * SECOND, 12));

    assertThat(backend.nanosUntilServable(clock.nanoTime(), 0)).isEqualTo(3 * SECOND);
    assertThat(backend.snapshot().inFlight()).isZero();
  }

  @Test
  void queueFullPassthroughRespectsTheConcurrencyLimit() {
    Backend limited = TestBackends.withCooldown("limited", 600, 40, 1, clock);
    assertThat(limited.acceptsUnshaped(clock.nanoTime())).isTrue();
    limited.unshapedPermit(clock.nanoTime());
    assertThat(limited.acceptsUnshaped(clock.nanoTime())).isFalse();
  }

  @Test
  void endingACooldownAlsoEndsTheUpstreamsRetryAfterHold() {
    Backend cooled = TestBackends.withCooldown("cooled", 600, 40, 8, clock);
    Permit permit = ((Backend.Granted) cooled.tryAcquire(clock.nanoTime())).permit();
    permit.release(new Attempt(429, 30_000_000_000L, 5, Attempt.ABSENT)); // a concurrency 429, Retry-After 30 s
    assertThat(cooled.tryAcquire(clock.nanoTime())).isInstanceOf(Backend.Wait.class);

    assertThat(cooled.endCooldown()).isTrue();

    assertThat(cooled.tryAcquire(clock.nanoTime())).isInstanceOf(Backend.Granted.class);
  }

  @Test
  void aBackendWithoutItsOwnKeyIsNotMarkedDeadByA401() {
    acquire().release(new Attempt(401, 0));
    assertThat(backend.snapshot().state()).isEqualTo("active");
  }

  @Test
  void aProbeDoesNotBringBackABackendAnOperatorDisabled() {
    Backend keyed = TestBackends.withCooldown("keyed", 600, 40, 8, clock);
    keyed.disable();
    assertThat(keyed.reviveDead("a probe")).isFalse();
    assertThat(keyed.snapshot().state()).isEqualTo("disabled");
    assertThat(keyed.revive("an operator")).isTrue();
  }
}
