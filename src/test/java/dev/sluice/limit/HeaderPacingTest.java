package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HeaderPacingTest {
  private static final long SECOND = 1_000_000_000L;
  private static final long UNKNOWN = HeaderPacing.UNKNOWN;
  private static final long NOW = 50 * SECOND;

  private final HeaderPacing pacing = new HeaderPacing();

  @Test
  void withoutHeadersNothingIsHeldBack() {
    assertThat(pacing.allowedAt(1_000_000, NOW)).isEqualTo(NOW);
    assertThat(pacing.requestsLeft(NOW)).isEqualTo(UNKNOWN);
    assertThat(pacing.tokensLeft(NOW)).isEqualTo(UNKNOWN);
  }

  @Test
  void noRequestsRemainingHoldsUntilTheReset() {
    pacing.onHeaders(0, 12 * SECOND, UNKNOWN, UNKNOWN, NOW);

    assertThat(pacing.allowedAt(0, NOW)).isEqualTo(NOW + 12 * SECOND);
    assertThat(pacing.allowedAt(0, NOW + 12 * SECOND - 1)).isEqualTo(NOW + 12 * SECOND);
    assertThat(pacing.allowedAt(0, NOW + 12 * SECOND)).isEqualTo(NOW + 12 * SECOND);
  }

  @Test
  void nRequestsRemainingAllowNSendsThenHoldUntilTheReset() {
    pacing.onHeaders(3, 10 * SECOND, UNKNOWN, UNKNOWN, NOW);

    for (int i = 0; i < 3; i++) {
      assertThat(pacing.allowedAt(0, NOW + i)).as("send %d", i).isEqualTo(NOW + i);
      pacing.onSent(0, NOW + i);
    }

    assertThat(pacing.requestsLeft(NOW + 3)).isZero();
    assertThat(pacing.allowedAt(0, NOW + 3)).isEqualTo(NOW + 10 * SECOND);
  }

  @Test
  void aRequestCostingMoreTokensThanRemainWaitsForTheTokenReset() {
    pacing.onHeaders(UNKNOWN, UNKNOWN, 1_000, 20 * SECOND, NOW);

    assertThat(pacing.allowedAt(1_001, NOW)).isEqualTo(NOW + 20 * SECOND);
    assertThat(pacing.allowedAt(1_000, NOW)).isEqualTo(NOW);
    pacing.onSent(600, NOW);

    assertThat(pacing.tokensLeft(NOW)).isEqualTo(400);
    assertThat(pacing.allowedAt(400, NOW)).isEqualTo(NOW);
    assertThat(pacing.allowedAt(401, NOW)).isEqualTo(NOW + 20 * SECOND);
    assertThat(pacing.allowedAt(0, NOW)).as("a request without an estimate").isEqualTo(NOW);
  }

  @Test
  void theLaterOfTheTwoResetsHoldsWhenBothCountsAreSpent() {
    pacing.onHeaders(0, 5 * SECOND, 10, 30 * SECOND, NOW);

    assertThat(pacing.allowedAt(100, NOW)).isEqualTo(NOW + 30 * SECOND);
    assertThat(pacing.allowedAt(5, NOW)).isEqualTo(NOW + 5 * SECOND);
  }

  @Test
  void countsAreForgottenAfterTheirReset() {
    pacing.onHeaders(0, 5 * SECOND, 0, 8 * SECOND, NOW);

    assertThat(pacing.requestsLeft(NOW + 5 * SECOND)).isEqualTo(UNKNOWN);
    assertThat(pacing.tokensLeft(NOW + 5 * SECOND)).isZero();
    assertThat(pacing.allowedAt(1, NOW + 5 * SECOND)).isEqualTo(NOW + 8 * SECOND);
    assertThat(pacing.allowedAt(1, NOW + 8 * SECOND)).isEqualTo(NOW + 8 * SECOND);
    assertThat(pacing.tokensLeft(NOW + 8 * SECOND)).isEqualTo(UNKNOWN);

    pacing.onSent(50, NOW + 9 * SECOND);
    assertThat(pacing.requestsLeft(NOW + 9 * SECOND)).as("nothing counted down from an unknown count")
        .isEqualTo(UNKNOWN);
    assertThat(pacing.tokensLeft(NOW + 9 * SECOND)).isEqualTo(UNKNOWN);
  }

  @Test
  void aCountWithoutItsResetIsIgnored() {
    pacing.onHeaders(0, UNKNOWN, 0, UNKNOWN, NOW);

    assertThat(pacing.allowedAt(100, NOW)).isEqualTo(NOW);
    assertThat(pacing.requestsLeft(NOW)).isEqualTo(UNKNOWN);
    assertThat(pacing.tokensLeft(NOW)).isEqualTo(UNKNOWN);
  }

  @Test
  void aResetWithoutItsCountIsIgnored() {
    pacing.onHeaders(UNKNOWN, 5 * SECOND, UNKNOWN, 5 * SECOND, NOW);

    assertThat(pacing.allowedAt(100, NOW)).isEqualTo(NOW);
  }

  @Test
  void freshHeadersReplaceTheCounts() {
    pacing.onHeaders(0, 60 * SECOND, UNKNOWN, UNKNOWN, NOW);
    pacing.onHeaders(2, 30 * SECOND, UNKNOWN, UNKNOWN, NOW + SECOND);

    assertThat(pacing.allowedAt(0, NOW + SECOND)).isEqualTo(NOW + SECOND);
    assertThat(pacing.requestsLeft(NOW + SECOND)).isEqualTo(2);
  }

  @Test
  void aZeroResetIsOverAtOnce() {
    pacing.onHeaders(0, 0, UNKNOWN, UNKNOWN, NOW);

    assertThat(pacing.allowedAt(0, NOW)).isEqualTo(NOW);
  }

  @Test
  void withTheLimitKnownARequestShortOfAFewTokensWaitsForThoseNotForTheWholeCount() {
    // 900 of 1,000 tokens come back over 9 s: one every 10 ms.
    pacing.onHeaders(UNKNOWN, UNKNOWN, UNKNOWN, 1_000, 100, 9 * SECOND, NOW);
    assertThat(pacing.allowedAt(300, NOW)).isEqualTo(NOW + 2 * SECOND);
    assertThat(pacing.allowedAt(5_000, NOW)).as("never later than the reset").isEqualTo(NOW + 9 * SECOND);

    // 59 of 60 requests come back over 59 s: one a second; two sent since the count.
    pacing.onHeaders(60, 1, 59 * SECOND, UNKNOWN, UNKNOWN, UNKNOWN, NOW);
    pacing.onSent(0, NOW);
    assertThat(pacing.allowedAt(0, NOW)).isEqualTo(NOW + SECOND);
  }
}
