package dev.sluice.time;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WaitsTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void formatsLikeOpenAiResetHeaders() {
    assertThat(Waits.goDuration(0)).isEqualTo("0s");
    assertThat(Waits.goDuration(1)).isEqualTo("1ms");
    assertThat(Waits.goDuration(250_000_000L)).isEqualTo("250ms");
    assertThat(Waits.goDuration(SECOND)).isEqualTo("1s");
    assertThat(Waits.goDuration(1_500_000_000L)).isEqualTo("1.5s");
    assertThat(Waits.goDuration(60 * SECOND)).isEqualTo("1m0s");
    assertThat(Waits.goDuration(90_250_000_000L)).isEqualTo("1m30.25s");
    assertThat(Waits.goDuration(360 * SECOND)).isEqualTo("6m0s");
  }

  @Test
  void retryAfterRoundsUpToWholeSecondsAtLeastOne() {
    assertThat(Waits.retryAfterSeconds(1)).isEqualTo(1);
    assertThat(Waits.retryAfterSeconds(SECOND)).isEqualTo(1);
    assertThat(Waits.retryAfterSeconds(SECOND + 1)).isEqualTo(2);
    assertThat(Waits.retryAfterSeconds(0)).isEqualTo(1);
  }
}
