package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class CooldownTest {
  private static final long SECOND = 1_000_000_000L;
  private final ManualClock clock = new ManualClock();

  private Cooldown cooldown(int baseSeconds, int maxSeconds, boolean exponential, int precheckSeconds) {
    return new Cooldown(new Cooldown.Policy(Duration.ofSeconds(baseSeconds), Duration.ofSeconds(maxSeconds),
        exponential, Duration.ofSeconds(precheckSeconds)));
  }

  /** Fails {@code n} times in a row, each once the previous cooldown has ended; returns the last length. */
  private long nthLength(Cooldown cooldown, int n) {
    long length = 0;
    for (int i = 0; i < n; i++) {
      long now = clock.nanoTime();
      length = cooldown.onFailure(now, now, clock.wallTimeMillis(), 0, "upstream 429") - now;
      clock.advance(Duration.ofNanos(length));
    }
    return length;
  }

  @ParameterizedTest(name = "failure {0}: {1} s exponential, {2} s linear")
  @CsvSource({"1, 5, 5", "2, 10, 10", "3, 20, 15", "4, 40, 20", "5, 80, 25", "6, 160, 30", "7, 300, 35",
      "8, 300, 40", "40, 300, 200", "70, 300, 300"})
  void theNthConsecutiveFailureCoolsForBaseTimesTwoToTheNMinusOneOrBaseTimesNCapped(int n, long exponentialSeconds,
      long linearSeconds) {
    assertThat(nthLength(cooldown(5, 300, true, 2), n)).isEqualTo(exponentialSeconds * SECOND);
    assertThat(nthLength(cooldown(5, 300, false, 2), n)).isEqualTo(linearSeconds * SECOND);
  }

  @Test
  void aLongerRetryAfterWinsAndAShorterOneDoesNot() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    long now = clock.nanoTime();
    assertThat(cooldown.onFailure(now, now, clock.wallTimeMillis(), 12 * SECOND, "upstream 429")).isEqualTo(now + 12 * SECOND);
    assertThat(cooldown.events().getLast().summary()).contains("Retry-After (12 s) is longer");

    clock.advance(Duration.ofSeconds(12));
    now = clock.nanoTime();
    assertThat(cooldown.onFailure(now, now, clock.wallTimeMillis(), SECOND, "upstream 429")).isEqualTo(now + 10 * SECOND);
  }

  @Test
  void aLaterFailureExtendsACooldownButNeverShortensIt() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    long start = clock.nanoTime();
    cooldown.onFailure(start, start, clock.wallTimeMillis(), 60 * SECOND, "upstream 429"); // ends at 60 s
    clock.advance(Duration.ofSeconds(1));
    // The second in a row earns 10 s from now: shorter than the 59 s left, so the end stays.
    assertThat(cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 429")).isEqualTo(start + 60 * SECOND);
    assertThat(cooldown.events().getLast().summary()).contains("already lasts longer");
    clock.advance(Duration.ofSeconds(1));
    // A longer Retry-After extends it.
    long now = clock.nanoTime();
    assertThat(cooldown.onFailure(now, now, clock.wallTimeMillis(), 120 * SECOND, "upstream 429")).isEqualTo(now + 120 * SECOND);
    assertThat(cooldown.endNanos()).isEqualTo(now + 120 * SECOND);
  }

  @Test
  void aSuccessResetsTheCountButNotTheCooldownInProgress() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    nthLength(cooldown, 3); // 5, 10, 20
    long now = clock.nanoTime();
    long end = cooldown.onFailure(now, now, clock.wallTimeMillis(), 0, "upstream 500");
    assertThat(end - now).isEqualTo(40 * SECOND);
    cooldown.onSuccess();
    assertThat(cooldown.cooling(clock.nanoTime())).isTrue();
    assertThat(cooldown.snapshot(clock.nanoTime()).consecutive()).isZero();
    clock.advance(Duration.ofSeconds(40));
    now = clock.nanoTime();
    assertThat(cooldown.onFailure(now, now, clock.wallTimeMillis(), 0, "upstream 429") - now).isEqualTo(5 * SECOND);
  }

  @Test
  void coolingEndsAtTheExactInstantAndPrecheckCoversItsLastSeconds() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    long start = clock.nanoTime();
    cooldown.onFailure(start, start, clock.wallTimeMillis(), 0, "upstream 429");
    assertThat(cooldown.cooling(start)).isTrue();
    assertThat(cooldown.endsWithinPrecheck(start)).isFalse();
    assertThat(cooldown.endsWithinPrecheck(start + 3 * SECOND - 1)).isFalse();
    assertThat(cooldown.endsWithinPrecheck(start + 3 * SECOND)).isTrue();
    assertThat(cooldown.cooling(start + 5 * SECOND - 1)).isTrue();
    assertThat(cooldown.cooling(start + 5 * SECOND)).isFalse();
    assertThat(cooldown.endsWithinPrecheck(start + 5 * SECOND)).isFalse();
  }

  @Test
  void eachCooldownIsAnEventWithStartEndCountSecondsAndSummaryAndTheLogIsBounded() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    long wallStart = clock.wallTimeMillis();
    nthLength(cooldown, 2);
    List<Cooldown.Event> events = cooldown.events();
    assertThat(events).hasSize(2);
    assertThat(events.getFirst()).isEqualTo(new Cooldown.Event(wallStart, wallStart + 5_000, 1, 5.0,
        "upstream 429: cooling 5 s"));
    assertThat(events.get(1)).isEqualTo(new Cooldown.Event(wallStart + 5_000, wallStart + 15_000, 2, 10.0,
        "upstream 429, 2nd in a row: cooling 10 s"));

    nthLength(cooldown, Cooldown.EVENTS_KEPT + 10);
    assertThat(cooldown.events()).hasSize(Cooldown.EVENTS_KEPT);
    assertThat(cooldown.events().getLast().count()).isEqualTo(Cooldown.EVENTS_KEPT + 12);
  }

  @Test
  void anOperatorEndsACooldownAndTheCount() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    nthLength(cooldown, 2);
    cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 429");
    cooldown.clear(clock.nanoTime(), clock.wallTimeMillis(), "an operator");
    assertThat(cooldown.cooling(clock.nanoTime())).isFalse();
    assertThat(cooldown.events().getLast().summary()).isEqualTo("ended early by an operator");
    long now = clock.nanoTime();
    assertThat(cooldown.onFailure(now, now, clock.wallTimeMillis(), 0, "upstream 429") - now).isEqualTo(5 * SECOND);
  }

  @Test
  void onlyAFailureWhileNotCoolingStartsACooldown() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 500");
    cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 500"); // extends it
    assertThat(cooldown.snapshot(clock.nanoTime()).started()).isEqualTo(1);

    clock.advance(Duration.ofSeconds(10));
    cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 500");

    assertThat(cooldown.snapshot(clock.nanoTime()).started()).isEqualTo(2);
    assertThat(cooldown.events()).hasSize(3);
  }

  @Test
  void theListenerHearsEveryEventAndAnOperatorsEndHasCountZero() {
    List<Cooldown.Event> heard = new java.util.ArrayList<>();
    Cooldown cooldown = new Cooldown(new Cooldown.Policy(Duration.ofSeconds(5), Duration.ofSeconds(300), true,
        Duration.ofSeconds(2)), heard::add);
    cooldown.onFailure(clock.nanoTime(), clock.nanoTime(), clock.wallTimeMillis(), 0, "upstream 429");
    cooldown.clear(clock.nanoTime(), clock.wallTimeMillis(), "an operator");
    cooldown.clear(clock.nanoTime(), clock.wallTimeMillis(), "an operator"); // not cooling: nothing to tell

    assertThat(heard).isEqualTo(cooldown.events());
    assertThat(heard).extracting(Cooldown.Event::count).containsExactly(1, 0);
  }

  @Test
  void failuresOfRequestsInFlightTogetherCountAsOne() {
    Cooldown cooldown = cooldown(5, 300, true, 2);
    long sent = clock.nanoTime();
    clock.advance(Duration.ofSeconds(1));
    long now = clock.nanoTime();
    // Eight requests sent together are refused together: one failure, 5 s, not the eighth in a row.
    for (int i = 0; i < 8; i++) {
      assertThat(cooldown.onFailure(now, sent, clock.wallTimeMillis(), 0, "upstream 429")).isEqualTo(now + 5 * SECOND);
    }
    assertThat(cooldown.snapshot(now).consecutive()).isEqualTo(1);
    clock.advance(Duration.ofSeconds(5));
    // A request sent after that failure was seen, refused again: the second in a row.
    long later = clock.nanoTime();
    assertThat(cooldown.onFailure(later, later, clock.wallTimeMillis(), 0, "upstream 429")).isEqualTo(later + 10 * SECOND);
  }
}
