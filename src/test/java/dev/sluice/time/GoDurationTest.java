package dev.sluice.time;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GoDurationTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void formatsLikeOpenAiResetHeaders() {
    assertThat(GoDuration.format(0)).isEqualTo("0s");
    assertThat(GoDuration.format(1)).isEqualTo("1ms");
    assertThat(GoDuration.format(250_000_000L)).isEqualTo("250ms");
    assertThat(GoDuration.format(SECOND)).isEqualTo("1s");
    assertThat(GoDuration.format(1_500_000_000L)).isEqualTo("1.5s");
    assertThat(GoDuration.format(60 * SECOND)).isEqualTo("1m0s");
    assertThat(GoDuration.format(90_250_000_000L)).isEqualTo("1m30.25s");
    assertThat(GoDuration.format(360 * SECOND)).isEqualTo("6m0s");
  }
}
