package dev.sluice.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PermitTest {
  private static final long SECOND = 1_000_000_000L;

  private final ManualClock clock = new ManualClock();
  private final Backend backend = TestBackends.of("b", 600, 10, clock);

  private Permit acquire() {
    return ((Backend.Granted) backend.tryAcquire(clock.nanoTime())).permit();
  }

  @Test
  void release_once_feedsTheAttemptToTheBackend() {
    Permit permit = acquire();
    assertThat(permit.isReleased()).isFalse();

    permit.release(new Attempt(429, 3 * SECOND));

    assertThat(permit.isReleased()).isTrue();
    assertThat(backend.snapshot().retryAfterRemainingNanos()).isEqualTo(3 * SECOND);
  }

  @Test
  void release_twice_throwsAndTheSecondAttemptTeachesNothing() {
    Permit permit = acquire();
    permit.release(new Attempt(429, 3 * SECOND));

    assertThatThrownBy(() -> permit.release(new Attempt(429, 30 * SECOND)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("permit of backend b released twice");

    // The upstream's hold is still the first release's 3 s, not the second's 30 s.
    assertThat(permit.isReleased()).isTrue();
    assertThat(backend.snapshot().retryAfterRemainingNanos()).isEqualTo(3 * SECOND);
  }

  @Test
  void release_twiceWithoutAnAnswer_throwsAsWell() {
    Permit permit = acquire();
    permit.release(Attempt.unanswered());

    assertThatThrownBy(() -> permit.release(Attempt.unanswered()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("permit of backend b released twice");
  }
}
