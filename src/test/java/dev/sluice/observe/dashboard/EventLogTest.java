package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Cooldown lines: one per backend and second however many failures, updated in place. */
class EventLogTest {
  private final ManualClock clock = new ManualClock();
  private final EventLog events = new EventLog(clock);

  private List<EventLog.Event> all() {
    return events.since(Long.MIN_VALUE, EventLog.CAPACITY);
  }

  @Test
  void failuresOfOneBackendWithinASecondShareOneLineThatCountsThem() {
    events.cooldown("nvidia", "nv-1", false, "upstream 429 (rpm): cooling 5 s");
    long seq = all().getFirst().seq();
    events.cooldown("nvidia", "nv-2", false, "upstream 500: cooling 5 s");
    clock.advance(Duration.ofMillis(300));
    events.cooldown("nvidia", "nv-1", false, "upstream 500, 2nd in a row: cooling 10 s");
    events.cooldown("nvidia", "nv-1", false, "upstream 500, 3rd in a row: cooling 20 s");

    assertThat(all()).extracting(EventLog.Event::text).containsExactly(
        "backend nv-1: 3 failures this second, the last: upstream 500, 3rd in a row: cooling 20 s",
        "backend nv-2: upstream 500: cooling 5 s");
    assertThat(all().getFirst().seq()).as("the same line, so a page replaces it").isEqualTo(seq);
    assertThat(all()).extracting(EventLog.Event::kind).containsOnly("cooldown");
  }

  @Test
  void theNextSecondStartsANewLine() {
    events.cooldown("nvidia", "nv-1", false, "upstream 429 (rpm): cooling 5 s");
    clock.advance(Duration.ofSeconds(1));
    events.cooldown("nvidia", "nv-1", false, "upstream 429 (rpm), 2nd in a row: cooling 10 s");

    assertThat(all()).extracting(EventLog.Event::text).containsExactly("backend nv-1: upstream 429 (rpm): cooling 5 s",
        "backend nv-1: upstream 429 (rpm), 2nd in a row: cooling 10 s");
  }

  @Test
  void anOperatorEndingACooldownIsAnAdminLineAndFailuresAfterItStartANewOne() {
    events.cooldown("nvidia", "nv-1", false, "upstream 500: cooling 5 s");
    events.cooldown("nvidia", "nv-1", true, "ended early by an operator");
    events.cooldown("nvidia", "nv-1", false, "upstream 500: cooling 5 s");

    assertThat(all()).extracting(e -> e.kind() + " " + e.text()).containsExactly(
        "cooldown backend nv-1: upstream 500: cooling 5 s",
        "admin backend nv-1 cooldown ended early by an operator",
        "cooldown backend nv-1: upstream 500: cooling 5 s");
  }
}
