package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TokensPerMinuteTest {
  private static final long SECOND = 1_000_000_000L;

  private final ManualClock clock = new ManualClock();
  /** 6000 a minute: 100 tokens a second, one every 10 ms. */
  private final TokensPerMinute tpm = new TokensPerMinute(BucketStore.inMemory(), "b:tpm", 6_000);

  private long now() {
    return clock.nanoTime();
  }

  @Test
  void aRequestReservesItsEstimateButNeverMoreThanTheBucketHolds() {
    assertThat(tpm.costOf(1_200)).isEqualTo(1_200);
    assertThat(tpm.costOf(6_000)).isEqualTo(6_000);
    assertThat(tpm.costOf(50_000)).isEqualTo(6_000);
    assertThat(tpm.costOf(0)).isZero();
    assertThat(tpm.costOf(-3)).isZero();
  }

  @Test
  void aCappedRequestGoesOnAFullBucketSoItNeverWaitsForever() {
    assertThat(tpm.tryReserve(tpm.costOf(1_000_000), now()).granted()).isTrue();
    assertThat(tpm.available(now())).isZero();
  }

  @Test
  void reservationsGoUntilTheBucketIsEmptyThenNameTheExactRefillInstant() {
    assertThat(tpm.available(now())).as("starts full").isEqualTo(6_000);
    assertThat(tpm.tryReserve(4_000, now()).granted()).isTrue();
    assertThat(tpm.tryReserve(2_000, now()).granted()).isTrue();

    Admission refused = tpm.tryReserve(500, now());

    assertThat(refused.granted()).isFalse();
    assertThat(refused.retryAtNanos()).isEqualTo(now() + 5 * SECOND);
    assertThat(tpm.nanosUntil(500, now())).isEqualTo(5 * SECOND);
    assertThat(tpm.available(now())).as("a refusal takes nothing").isZero();

    clock.advance(Duration.ofMillis(4_990));
    assertThat(tpm.tryReserve(500, now()).granted()).isFalse();
    clock.advance(Duration.ofMillis(10));
    assertThat(tpm.tryReserve(500, now()).granted()).isTrue();
  }

  @Test
  void aRequestExpectedToUseNothingWaitsOnlyForADebtToBePaid() {
    assertThat(tpm.nanosUntil(0, now())).isZero();
    tpm.tryReserve(6_000, now());
    assertThat(tpm.nanosUntil(0, now())).as("empty, not in debt").isZero();
    tpm.settle(6_000, 9_000, now());

    assertThat(tpm.nanosUntil(0, now())).as("3,000 over at 6,000 a minute").isEqualTo(30 * SECOND);
    assertThat(tpm.tryReserve(0, now()).granted()).isTrue();
  }

  @Test
  void settlingBelowTheReservationGivesTheDifferenceBack() {
    tpm.tryReserve(4_000, now());

    assertThat(tpm.settle(4_000, 1_000, now())).isTrue();

    assertThat(tpm.available(now())).isEqualTo(5_000);
  }

  @Test
  void whatIsGivenBackNeverOverfillsTheBucket() {
    tpm.tryReserve(1_000, now());
    clock.advance(Duration.ofSeconds(8)); // 800 refilled meanwhile

    tpm.settle(1_000, 0, now());

    assertThat(tpm.available(now())).isEqualTo(6_000);
  }

  @Test
  void settlingAboveTheReservationChargesTheExcessAndTheNextReservationWaitsForTheRefill() {
    tpm.tryReserve(6_000, now());

    assertThat(tpm.settle(6_000, 9_000, now())).isFalse();

    assertThat(tpm.available(now())).isEqualTo(-3_000);
    // 3000 owed plus 100 wanted, at 100 a second.
    assertThat(tpm.tryReserve(100, now()).retryAtNanos()).isEqualTo(now() + 31 * SECOND);
    clock.advance(Duration.ofSeconds(31));
    assertThat(tpm.tryReserve(100, now()).granted()).isTrue();
  }

  @Test
  void settlingExactlyTheReservationChangesNothing() {
    tpm.tryReserve(2_500, now());

    assertThat(tpm.settle(2_500, 2_500, now())).isFalse();

    assertThat(tpm.available(now())).isEqualTo(3_500);
  }

  @Test
  void aHigherTpmKeepsTheTokensEarnedAndRefillsFaster() {
    tpm.tryReserve(4_000, now());

    tpm.setTpm(12_000, now());

    assertThat(tpm.tpm()).isEqualTo(12_000);
    assertThat(tpm.available(now())).isEqualTo(2_000);
    assertThat(tpm.costOf(20_000)).isEqualTo(12_000);
    clock.advance(Duration.ofSeconds(1));
    assertThat(tpm.available(now())).as("200 a second").isEqualTo(2_200);
  }

  @Test
  void aLowerTpmKeepsTheTokensEarnedUpToItsCapacity() {
    tpm.tryReserve(5_500, now());
    tpm.setTpm(1_000, now());
    assertThat(tpm.available(now())).isEqualTo(500);

    tpm.setTpm(6_000, now());
    tpm.setTpm(100, now());
    assertThat(tpm.available(now())).isEqualTo(100);
  }

  @Test
  void aTpmBelowOneIsRefused() {
    assertThatThrownBy(() -> new TokensPerMinute(BucketStore.inMemory(), "x", 0))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("tpm must be ≥ 1: 0");
    assertThatThrownBy(() -> tpm.setTpm(0, now())).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tpm must be ≥ 1: 0");
  }
}
