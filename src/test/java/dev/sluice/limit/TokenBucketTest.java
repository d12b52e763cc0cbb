package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TokenBucketTest {
  private static final long SECOND = 1_000_000_000L;
  private final ManualClock clock = new ManualClock();
  private final BucketStore store = BucketStore.inMemory();

  private int drain(TokenBucket bucket) {
    int taken = 0;
    while (bucket.tryAcquire(clock.nanoTime()).granted()) {
      taken++;
    }
    return taken;
  }

  @Test
  void startsFullAndGrantsCapacityAtOnce() {
    TokenBucket bucket = new TokenBucket(store, "b", 40, 10);

    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(10);
    assertThat(drain(bucket)).isEqualTo(10);
  }

  @Test
  void anEmptyBucketNamesTheInstantOfTheNextToken() {
    TokenBucket bucket = new TokenBucket(store, "b", 40, 10);
    drain(bucket);

    Admission refused = bucket.tryAcquire(clock.nanoTime());

    assertThat(refused.granted()).isFalse();
    assertThat(refused.retryAtNanos() - clock.nanoTime()).isEqualTo(1_500_000_000L);
    clock.advance(Duration.ofMillis(1_499));
    assertThat(bucket.tryAcquire(clock.nanoTime()).granted()).isFalse();
    clock.advance(Duration.ofMillis(1));
    assertThat(bucket.tryAcquire(clock.nanoTime()).granted()).isTrue();
  }

  @Test
  void tryAcquire_decidesAtTheInstantItIsGiven_notAtALaterClockReading() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 1);
    long readAt = clock.nanoTime();
    assertThat(bucket.tryAcquire(readAt).granted()).isTrue();

    // The clock moves on while a decision read earlier is still being made: that decision sees no refill.
    clock.advance(Duration.ofSeconds(5));
    Admission refused = bucket.tryAcquire(readAt);

    assertThat(refused).isEqualTo(Admission.retryAt(readAt + SECOND));
  }

  @Test
  void tryAcquire_anInstantAheadOfTheClock_isRefilledToThatInstant() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 1);
    long readAt = clock.nanoTime();
    bucket.tryAcquire(readAt);

    Admission granted = bucket.tryAcquire(readAt + SECOND);

    assertThat(granted).isEqualTo(Admission.grantedAt(readAt + SECOND));
    assertThat(clock.nanoTime()).isEqualTo(readAt);
  }

  @Test
  void tryAcquire_anInstantOlderThanTheLastDecision_addsNoTokens() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 1);
    long readAt = clock.nanoTime();
    bucket.tryAcquire(readAt);
    assertThat(bucket.tryAcquire(readAt + SECOND).granted()).isTrue();

    assertThat(bucket.tryAcquire(readAt + SECOND / 2).granted()).isFalse();
    assertThat(bucket.availableTokens(readAt + SECOND)).isZero();
  }

  @Test
  void refillNeverExceedsCapacity() {
    TokenBucket bucket = new TokenBucket(store, "b", 600, 5);
    drain(bucket);

    clock.advance(Duration.ofMinutes(10));

    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(5);
  }

  @Test
  void aRateChangeKeepsTheTokensAlreadyEarned() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 10);
    for (int i = 0; i < 7; i++) {
      bucket.tryAcquire(clock.nanoTime());
    }

    bucket.setRateRpm(6, clock.nanoTime());
    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(3);
    assertThat(bucket.rateRpm()).isEqualTo(6);

    bucket.setRateRpm(600, clock.nanoTime());
    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(3);
    drain(bucket);
    // 600 RPM: a token every 100 ms.
    assertThat(bucket.nanosToNextToken(clock.nanoTime())).isEqualTo(SECOND / 10);
  }

  @Test
  void keepingAtMostSomeTokensDropsOnlyTheSurplus() {
    TokenBucket bucket = new TokenBucket(store, "b", 600, 40);

    bucket.keepAtMost(10, clock.nanoTime());
    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(10);
    bucket.keepAtMost(15, clock.nanoTime());
    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(10);
    bucket.keepAtMost(0, clock.nanoTime());
    assertThat(bucket.availableTokens(clock.nanoTime())).isZero();
    // The rate goes on: a token 100 ms later.
    assertThat(bucket.nanosToNextToken(clock.nanoTime())).isEqualTo(SECOND / 10);
  }

  @Test
  void rejectsRatesAndCapacitiesBelowOne() {
    assertThatThrownBy(() -> new TokenBucket(store, "b", 0, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TokenBucket(store, "b", 1, 0)).isInstanceOf(IllegalArgumentException.class);
    TokenBucket bucket = new TokenBucket(store, "b", 1, 1);
    assertThatThrownBy(() -> bucket.setRateRpm(0, clock.nanoTime())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void setCapacity_smaller_capsTheTokensItHolds() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 10);

    bucket.setCapacity(4, clock.nanoTime());

    assertThat(bucket.capacity()).isEqualTo(4);
    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(4);
    clock.advance(Duration.ofMinutes(1));
    assertThat(drain(bucket)).isEqualTo(4);
  }

  @Test
  void setCapacity_larger_keepsTheTokensAndFillsUpToIt() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 10);
    for (int i = 0; i < 7; i++) {
      bucket.tryAcquire(clock.nanoTime());
    }

    bucket.setCapacity(20, clock.nanoTime());

    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(3);
    clock.advance(Duration.ofMinutes(1));
    assertThat(drain(bucket)).isEqualTo(20);
  }

  @Test
  void setCapacity_keepsTheRate() {
    TokenBucket bucket = new TokenBucket(store, "b", 60, 10);
    drain(bucket);

    bucket.setCapacity(5, clock.nanoTime());
    clock.advance(Duration.ofSeconds(2));

    assertThat(bucket.availableTokens(clock.nanoTime())).isEqualTo(2);
    assertThat(bucket.rateRpm()).isEqualTo(60);
  }
}
