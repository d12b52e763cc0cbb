package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {
  private final ManualClock clock = new ManualClock();

  private int retriesAllowed(RetryBudget budget) {
    int allowed = 0;
    while (budget.tryRetry(clock.nanoTime())) {
      allowed++;
    }
    return allowed;
  }

  @Test
  void retriesAddAtMostTheShareOfFirstAttemptsPlusTheReserve() {
    RetryBudget budget = new RetryBudget(20, 60, clock.nanoTime());
    for (int i = 0; i < 500; i++) {
      budget.onFirstAttempt(clock.nanoTime());
    }
    assertThat(retriesAllowed(budget)).isEqualTo(100 + RetryBudget.RESERVE_PER_WINDOW);
    assertThat(budget.usage(clock.nanoTime())).isEqualTo(new RetryBudget.Usage(500, 110));
  }

  @Test
  void aQuietPoolStillHasTheReserve() {
    RetryBudget budget = new RetryBudget(20, 60, clock.nanoTime());
    assertThat(retriesAllowed(budget)).isEqualTo(RetryBudget.RESERVE_PER_WINDOW);
  }

  @Test
  void theWindowSlidesRetriesAndAttemptsOutAfterItsLength() {
    RetryBudget budget = new RetryBudget(20, 60, clock.nanoTime());
    for (int i = 0; i < 100; i++) {
      budget.onFirstAttempt(clock.nanoTime());
    }
    assertThat(retriesAllowed(budget)).isEqualTo(30);
    clock.advance(Duration.ofSeconds(59));
    assertThat(budget.tryRetry(clock.nanoTime())).isFalse();
    clock.advance(Duration.ofSeconds(1));
    // The second with 100 attempts and 30 retries left the window: only the reserve remains.
    assertThat(retriesAllowed(budget)).isEqualTo(RetryBudget.RESERVE_PER_WINDOW);
  }

  @Test
  void aZeroShareLeavesOnlyTheReserve() {
    RetryBudget budget = new RetryBudget(0, 60, clock.nanoTime());
    for (int i = 0; i < 1000; i++) {
      budget.onFirstAttempt(clock.nanoTime());
    }
    assertThat(retriesAllowed(budget)).isEqualTo(RetryBudget.RESERVE_PER_WINDOW);
  }
}
