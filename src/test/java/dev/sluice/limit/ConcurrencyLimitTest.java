package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ConcurrencyLimitTest {
  private static final long TWO_SECONDS = 2_000_000_000L;
  private static final long NOW = 1_767_225_600_000L;

  @Test
  void aFixedLimitNeverMoves() {
    ConcurrencyLimit limit = new ConcurrencyLimit(false, 8);
    limit.onAnswer(TWO_SECONDS, 8, true, NOW);
    limit.onAnswer(TWO_SECONDS, 8, false, NOW);
    assertThat(limit.limit()).isEqualTo(8);
    assertThat(limit.history()).isEmpty();
  }

  @Test
  void concurrency429sHalveTheLearnedLimitDownToOne() {
    ConcurrencyLimit limit = new ConcurrencyLimit(true, 8);
    limit.onAnswer(TWO_SECONDS, 8, true, NOW);
    assertThat(limit.limit()).isEqualTo(4);
    limit.onAnswer(TWO_SECONDS, 4, true, NOW);
    limit.onAnswer(TWO_SECONDS, 2, true, NOW);
    limit.onAnswer(TWO_SECONDS, 1, true, NOW);
    assertThat(limit.limit()).isEqualTo(ConcurrencyLimit.MIN_LIMIT);
    assertThat(limit.history()).extracting(ConcurrencyLimit.Adjustment::to).containsExactly(4, 2, 1);
    assertThat(limit.history().getFirst().reason()).isEqualTo("429 about concurrency with 8 in flight");
  }

  @Test
  void asManyAcceptedAnswersAsTheLimitAtHighUtilisationRaiseItByOneAndLowUtilisationDoesNot() {
    ConcurrencyLimit limit = new ConcurrencyLimit(true, 4);
    for (int i = 0; i < 10; i++) {
      limit.onAnswer(TWO_SECONDS, 1, false, NOW); // a quarter of the limit: says nothing about more
    }
    assertThat(limit.limit()).isEqualTo(4);
    for (int i = 0; i < 3; i++) {
      limit.onAnswer(TWO_SECONDS, 2, false, NOW);
    }
    assertThat(limit.limit()).isEqualTo(4);
    limit.onAnswer(TWO_SECONDS, 2, false, NOW);
    assertThat(limit.limit()).isEqualTo(5);
    assertThat(limit.history().getLast().reason())
        .isEqualTo("accepted 4 answers with at least half the limit in flight");
    for (int i = 0; i < 5; i++) {
      limit.onAnswer(TWO_SECONDS, 5, false, NOW);
    }
    assertThat(limit.limit()).isEqualTo(6);
    for (int i = 0; i < 10_000; i++) {
      limit.onAnswer(TWO_SECONDS, limit.limit(), false, NOW);
    }
    assertThat(limit.limit()).isEqualTo(ConcurrencyLimit.MAX_LIMIT);
  }

  @Test
  void aLongAnswerIsNotTakenForARefusal() {
    ConcurrencyLimit limit = new ConcurrencyLimit(true, 4);
    for (int i = 0; i < 4; i++) {
      limit.onAnswer(600 * 1_000_000_000L, 4, false, NOW); // ten minutes each
    }
    assertThat(limit.limit()).isEqualTo(5);
  }

  @Test
  void operatorsSwitchModeSetTheLimitAndResetLearning() {
    ConcurrencyLimit limit = new ConcurrencyLimit(false, 8);
    limit.setMode(true, 6, NOW);
    assertThat(limit.adaptive()).isTrue();
    assertThat(limit.limit()).isEqualTo(6);
    limit.onAnswer(TWO_SECONDS, 6, true, NOW);
    assertThat(limit.limit()).isEqualTo(3);
    limit.setLimit(10, NOW);
    assertThat(limit.limit()).isEqualTo(10);
    for (int i = 0; i < 10; i++) {
      limit.onAnswer(TWO_SECONDS, 10, false, NOW);
    }
    assertThat(limit.limit()).isEqualTo(11);
    limit.resetLearning();
    assertThat(limit.limit()).isEqualTo(6);
    assertThat(limit.history()).isEmpty();
    limit.setMode(false, 2, NOW);
    assertThat(limit.limit()).isEqualTo(2);
    limit.onAnswer(TWO_SECONDS, 2, true, NOW);
    assertThat(limit.limit()).isEqualTo(2);
    assertThatThrownBy(() -> limit.setLimit(0, NOW)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("1..100");
    assertThatThrownBy(() -> limit.setLimit(101, NOW)).isInstanceOf(IllegalArgumentException.class);
  }
}
