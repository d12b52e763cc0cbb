package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class TokensPerMinuteTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long MINUTE = 60 * SECOND;

  private final ManualClock clock = new ManualClock();
  private final TokensPerMinute tpm = new TokensPerMinute(6_000);

  private long now() {
    return clock.nanoTime();
  }

  @Test
  void aRequestReservesItsEstimateButNeverMoreThanTheWholeMinute() {
    assertThat(tpm.costOf(1_200)).isEqualTo(1_200);
    assertThat(tpm.costOf(6_000)).isEqualTo(6_000);
    assertThat(tpm.costOf(50_000)).isEqualTo(6_000);
    assertThat(tpm.costOf(0)).isZero();
    assertThat(tpm.costOf(-3)).isZero();
    assertThat(tpm.tryReserve(tpm.costOf(1_000_000), now()).granted()).as("fits an empty window").isTrue();
    assertThat(tpm.available(now())).isZero();
  }

  @Test
  void whatWasReservedLeavesTheWindowAMinuteLaterNeverSooner() {
    long start = now();
    assertThat(tpm.tryReserve(4_000, start).granted()).isTrue();
    clock.advance(Duration.ofSeconds(30));
    assertThat(tpm.tryReserve(2_000, now()).granted()).isTrue();

    // Full: the first 4,000 leave between 60 and 60.1 s after they were reserved.
    Admission refused = tpm.tryReserve(1, now());
    assertThat(refused.granted()).isFalse();
    assertThat(refused.retryAtNanos() - start).isBetween(MINUTE, MINUTE + SECOND / 10);
    clock.advance(Duration.ofNanos(refused.retryAtNanos() - now() - 1));
    assertThat(tpm.tryReserve(1, now()).granted()).as("a nanosecond early").isFalse();
    clock.advance(Duration.ofNanos(1));
    assertThat(tpm.tryReserve(4_000, now()).granted()).isTrue();
    assertThat(tpm.available(now())).isZero();
  }

  @Test
  void aSettlementGivesBackOnTheInstantOfTheReservationOrChargesIt() {
    long sent = now();
    tpm.tryReserve(5_000, sent);
    clock.advance(Duration.ofSeconds(10));

    assertThat(tpm.settle(5_000, 1_200, sent, now())).as("given back").isTrue();
    assertThat(tpm.available(now())).isEqualTo(4_800);

    long second = now();
    tpm.tryReserve(4_800, second);
    assertThat(tpm.settle(4_800, 7_800, second, now())).isFalse();
    assertThat(tpm.available(now())).as("3,000 over").isEqualTo(-3_000);
    assertThat(tpm.nanosUntil(0, now())).as("until the first request's 1,200 leave, and more")
        .isBetween(50 * SECOND, 60 * SECOND + SECOND / 10);
  }

  @Test
  void anExcessFoundAfterItsReservationLeftTheWindowIsChargedNow() {
    long sent = now();
    tpm.tryReserve(1_000, sent);
    clock.advance(Duration.ofSeconds(90));

    assertThat(tpm.settle(1_000, 1_500, sent, now())).isFalse();
    assertThat(tpm.available(now())).isEqualTo(5_500);
    assertThat(tpm.settle(1_000, 200, sent, now())).as("nothing left to give back").isFalse();
  }

  @Test
  void aRequestExpectedToUseNothingWaitsOnlyWhileTheWindowIsOver() {
    assertThat(tpm.nanosUntil(0, now())).isZero();
    tpm.tryReserve(6_000, now());
    assertThat(tpm.nanosUntil(0, now())).as("full, not over").isZero();
    assertThat(tpm.tryReserve(0, now()).granted()).isTrue();
  }

  @Test
  void aHigherLimitLetsMoreInAtOnce() {
    tpm.tryReserve(6_000, now());
    assertThat(tpm.tryReserve(1_000, now()).granted()).isFalse();
    tpm.setTpm(9_000);
    assertThat(tpm.tryReserve(3_000, now()).granted()).isTrue();
    assertThatThrownBy(() -> tpm.setTpm(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TokensPerMinute(0)).isInstanceOf(IllegalArgumentException.class);
  }

  /** Whatever is reserved, no trailing minute ever holds more than the limit (what a counting provider checks). */
  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 2026})
  void noTrailingMinuteEverHoldsMoreThanTheLimit(long seed) {
    Random random = new Random(seed);
    ArrayDeque<long[]> sent = new ArrayDeque<>(); // {instant, tokens}
    long inLastMinute = 0;
    for (int i = 0; i < 5_000; i++) {
      clock.advance(Duration.ofMillis(random.nextInt(400)));
      while (!sent.isEmpty() && sent.peekFirst()[0] <= now() - MINUTE) {
        inLastMinute -= sent.pollFirst()[1];
      }
      long cost = tpm.costOf(1 + random.nextInt(3_000));
      if (tpm.tryReserve(cost, now()).granted()) {
        sent.addLast(new long[] {now(), cost});
        inLastMinute += cost;
        assertThat(inLastMinute).isLessThanOrEqualTo(6_000);
      }
    }
  }
}
