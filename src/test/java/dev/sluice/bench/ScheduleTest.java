package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The seeded schedule the shaping and failover drivers send by. */
class ScheduleTest {
  @Test
  void evenSchedule_spacesRequestsByOneOverTheRate_andDrawsTheMixFromTheSeed() {
    Schedule schedule = Schedule.of(2.5, 240, 42, /* poisson= */ false, /* allNormal= */ false);

    assertThat(schedule.count()).isEqualTo(600);
    assertThat(schedule.offsetNanos(0)).isZero();
    assertThat(schedule.offsetNanos(1)).isEqualTo(400_000_000L);
    assertThat(schedule.offsetNanos(599)).isEqualTo(239_600_000_000L);
    long urgent = IntStream.range(0, 600).filter(i -> schedule.priority(i) == Schedule.URGENT).count();
    assertThat(urgent).isBetween(40L, 80L); // 10 % of 600, give or take the dice
  }

  @Test
  void sameSeed_sameSchedule_andAllNormalKeepsThePoissonOffsets() {
    Schedule a = Schedule.of(20, 30, 7, /* poisson= */ true, /* allNormal= */ false);
    Schedule b = Schedule.of(20, 30, 7, /* poisson= */ true, /* allNormal= */ false);
    Schedule normal = Schedule.of(20, 30, 7, /* poisson= */ true, /* allNormal= */ true);

    assertThat(b.count()).isEqualTo(a.count());
    assertThat(normal.count()).isEqualTo(a.count());
    for (int i = 0; i < a.count(); i++) {
      assertThat(b.offsetNanos(i)).isEqualTo(a.offsetNanos(i));
      assertThat(b.priority(i)).isEqualTo(a.priority(i));
      assertThat(normal.offsetNanos(i)).isEqualTo(a.offsetNanos(i));
      assertThat(normal.priority(i)).isEqualTo(Schedule.NORMAL);
    }
    assertThat(a.offsetNanos(a.count() - 1)).isLessThan(30_000_000_000L);
  }
}
