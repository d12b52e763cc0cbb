package dev.sluice.limit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.limit.TokenWindow.Minute;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TokenWindowTest {
  private static final long MINUTE = 60_000L;
  private static final int FIVE_HOURS = 300;

  /** Wall milliseconds of {@code hh:mm:ss(.SSS)} on 2 March 2026, UTC. */
  private static long at(String time) {
    return Instant.parse("2026-03-02T" + time + "Z").toEpochMilli();
  }

  private static long minuteOf(String time) {
    return at(time) / MINUTE;
  }

  @Test
  void usageLeavesAFiveHourWindowExactlyWhenItsMinuteDoes() {
    TokenWindow window = new TokenWindow(FIVE_HOURS);
    window.add(at("10:00:30"), 700);

    assertThat(window.total(at("10:00:30"))).isEqualTo(700);
    assertThat(window.total(at("14:59:59.999"))).isEqualTo(700);
    assertThat(window.total(at("15:00:00"))).isZero();
  }

  @Test
  void usageLateInAMinuteLeavesWithTheRestOfThatMinute() {
    TokenWindow window = new TokenWindow(FIVE_HOURS);
    window.add(at("10:00:00"), 1);
    window.add(at("10:00:59.999"), 2);
    window.add(at("10:01:00"), 4);

    assertThat(window.total(at("14:59:59.999"))).isEqualTo(7);
    assertThat(window.total(at("15:00:00"))).as("all of 10:00's usage leaves at once").isEqualTo(4);
    assertThat(window.total(at("15:00:59.999"))).isEqualTo(4);
    assertThat(window.total(at("15:01:00"))).isZero();
  }

  @Test
  void aOneMinuteWindowHoldsOnlyTheCurrentMinute() {
    TokenWindow window = new TokenWindow(1);
    window.add(at("10:00:00"), 10);
    window.add(at("10:00:59.999"), 5);

    assertThat(window.total(at("10:00:59.999"))).isEqualTo(15);
    assertThat(window.total(at("10:01:00"))).isZero();

    window.add(at("10:01:00"), 3);
    assertThat(window.total(at("10:01:30"))).isEqualTo(3);
    assertThat(window.minutes(at("10:01:30"))).containsExactly(new Minute(minuteOf("10:01:00"), 3));
  }

  @Test
  void afterManyMinutesTheTotalIsTheLastWindowsWorth() {
    TokenWindow window = new TokenWindow(10);
    long start = at("10:00:00");
    for (int i = 0; i < 600; i++) {
      window.add(start + i * MINUTE + 59_000, i);
      // minutes i-9 .. i are in the window
      long expected = 0;
      for (int j = Math.max(0, i - 9); j <= i; j++) {
        expected += j;
      }
      assertThat(window.total(start + i * MINUTE + 59_999)).as("minute %d", i).isEqualTo(expected);
    }
    assertThat(window.minutes(start + 599 * MINUTE)).hasSize(10);
    assertThat(window.total(start + 609 * MINUTE)).isZero();
    assertThat(window.minutes(start + 609 * MINUTE)).isEmpty();
  }

  @Test
  void zeroAndNegativeUsageCountsNothing() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:00:00"), 0);
    window.add(at("10:00:00"), -5);

    assertThat(window.total(at("10:00:00"))).isZero();
    assertThat(window.drainChanged()).isEmpty();
  }

  @Test
  void usageReportedWithAnOlderInstantCountsInTheNewestMinute() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:20:00"), 100);
    window.add(at("10:05:00"), 50);

    assertThat(window.minutes(at("10:20:00"))).containsExactly(new Minute(minuteOf("10:20:00"), 150));
    assertThat(window.total(at("11:19:59.999"))).isEqualTo(150);
    assertThat(window.total(at("11:20:00"))).isZero();
  }

  @Test
  void belowAtIsTheInstantTheMinuteThatTakesUsageUnderTheLevelLeaves() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:00:10"), 100);
    window.add(at("10:20:00"), 50);
    window.add(at("10:40:59"), 30);
    long now = at("10:45:00");

    assertThat(window.belowAt(now, 181)).as("already below").isEqualTo(now);
    assertThat(window.belowAt(now, 180)).isEqualTo(at("11:00:00"));
    assertThat(window.belowAt(now, 81)).isEqualTo(at("11:00:00"));
    assertThat(window.belowAt(now, 80)).isEqualTo(at("11:20:00"));
    assertThat(window.belowAt(now, 31)).isEqualTo(at("11:20:00"));
    assertThat(window.belowAt(now, 30)).isEqualTo(at("11:40:00"));
    assertThat(window.belowAt(now, 1)).isEqualTo(at("11:40:00"));

    assertThat(window.total(at("10:59:59.999"))).isEqualTo(180);
    assertThat(window.total(at("11:00:00"))).isEqualTo(80);
    assertThat(window.total(at("11:40:00"))).isZero();
  }

  @Test
  void drainChangedGivesTheMinutesChangedSinceTheLastDrainAsTheyStandNow() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:00:05"), 10);
    window.add(at("10:00:50"), 5);
    window.add(at("10:01:00"), 7);

    assertThat(window.drainChanged()).containsExactly(new Minute(minuteOf("10:00:00"), 15),
        new Minute(minuteOf("10:01:00"), 7));
    assertThat(window.drainChanged()).as("nothing changed since").isEmpty();

    window.add(at("10:01:30"), 3);
    assertThat(window.drainChanged()).as("the whole count, not the increment")
        .containsExactly(new Minute(minuteOf("10:01:00"), 10));
  }

  @Test
  void aMinuteThatSlidOutBeforeTheDrainIsLeftToTheStoresPrune() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:00:00"), 10);
    window.add(at("11:10:00"), 20);

    assertThat(window.drainChanged()).containsExactly(new Minute(minuteOf("11:10:00"), 20));
  }

  @Test
  void clearForgetsEverythingAndReportsEveryMinuteItHeldAsZero() {
    TokenWindow window = new TokenWindow(60);
    window.add(at("10:00:00"), 10);
    window.add(at("10:01:00"), 20);
    window.drainChanged(); // written to a store already
    window.add(at("10:02:00"), 30);

    window.clear();

    assertThat(window.total(at("10:02:00"))).isZero();
    assertThat(window.minutes(at("10:02:00"))).isEmpty();
    assertThat(window.belowAt(at("10:02:00"), 1)).isEqualTo(at("10:02:00"));
    // The store must forget the minutes drained before the clear too, or a restart would bring them back.
    assertThat(window.drainChanged()).containsExactly(new Minute(minuteOf("10:00:00"), 0),
        new Minute(minuteOf("10:01:00"), 0), new Minute(minuteOf("10:02:00"), 0));
  }

  @Test
  void restoreTakesUpTheMinutesInTheWindowAndDropsTheRest() {
    TokenWindow window = new TokenWindow(FIVE_HOURS);
    window.add(at("09:00:00"), 999); // replaced by the restore

    window.restore(List.of(new Minute(minuteOf("12:00:00"), 40), new Minute(minuteOf("09:59:00"), 1_000),
        new Minute(minuteOf("10:00:00"), 100), new Minute(minuteOf("12:00:00"), 2),
        new Minute(minuteOf("13:00:00"), 0)), at("14:59:30"));

    assertThat(window.minutes(at("14:59:30"))).containsExactly(new Minute(minuteOf("10:00:00"), 100),
        new Minute(minuteOf("12:00:00"), 42));
    assertThat(window.total(at("14:59:59.999"))).isEqualTo(142);
    assertThat(window.total(at("15:00:00"))).isEqualTo(42);
  }

  @Test
  void aWindowShorterThanAMinuteIsRefused() {
    assertThatThrownBy(() -> new TokenWindow(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("window must be ≥ 1 minute: 0");
  }

  /** What happened, one event per add, and the answers worked out from the events alone. */
  private record Reference(int minutes, List<long[]> events) {
    long total(long wallMillis) {
      long oldest = Math.floorDiv(wallMillis, MINUTE) - minutes + 1;
      return events.stream().filter(e -> Math.floorDiv(e[0], MINUTE) >= oldest).mapToLong(e -> e[1]).sum();
    }

    /** The first instant from {@code wallMillis} on when the total is under {@code level}, trying every minute. */
    long belowAt(long wallMillis, long level) {
      if (total(wallMillis) < level) {
        return wallMillis;
      }
      for (long minute = Math.floorDiv(wallMillis, MINUTE) + 1; ; minute++) {
        if (total(minute * MINUTE) < level) {
          return minute * MINUTE;
        }
      }
    }
  }

  @ParameterizedTest(name = "seed {0}, window {1} min")
  @CsvSource({"1, 1", "2, 2", "3, 7", "4, 60", "5, 300", "6, 300", "7, 13", "8, 1", "9, 59", "10, 120"})
  void agreesWithABruteForceReferenceOnRandomUsage(long seed, int minutes) {
    SplittableRandom random = new SplittableRandom(seed);
    TokenWindow window = new TokenWindow(minutes);
    Reference reference = new Reference(minutes, new ArrayList<>());
    long now = at("10:00:00") + random.nextLong(MINUTE);
    List<Minute> drained = new ArrayList<>();
    for (int step = 0; step < 1_000; step++) {
      // Mostly a few seconds apart, sometimes a long pause that empties the window.
      now += random.nextInt(100) < 3 ? random.nextLong(minutes * 2 * MINUTE) : random.nextLong(20_000);
      if (random.nextBoolean()) {
        long tokens = random.nextLong(1_000);
        window.add(now, tokens);
        if (tokens > 0) {
          reference.events().add(new long[] {now, tokens});
        }
      }
      if (random.nextInt(10) == 0) {
        drained.addAll(window.drainChanged());
      }
      long total = reference.total(now);
      assertThat(window.total(now)).as("step %d", step).isEqualTo(total);
      long level = random.nextLong(total + 2) + 1;
      assertThat(window.belowAt(now, level)).as("step %d, below %d", step, level)
          .isEqualTo(reference.belowAt(now, level));
      assertThat(window.minutes(now).stream().mapToLong(Minute::tokens).sum()).isEqualTo(total);
    }
    // Replaying what was drained, latest count per minute, gives a store that agrees with the window.
    drained.addAll(window.drainChanged());
    Map<Long, Long> store = new TreeMap<>();
    drained.forEach(m -> store.put(m.minute(), m.tokens()));
    TokenWindow restored = new TokenWindow(minutes);
    restored.restore(store.entrySet().stream().map(e -> new Minute(e.getKey(), e.getValue())).toList(), now);
    assertThat(restored.minutes(now)).isEqualTo(window.minutes(now));
  }
}
