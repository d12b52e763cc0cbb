package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

/**
 * Which stream clients the feed keeps, with ticks driven by hand. The clients here never get a frame written (they
 * end before joining, or never start), so they have no response to write to.
 */
class FeedTest {
  private final ManualClock clock = new ManualClock();
  private final TickScheduler scheduler = new TickScheduler(clock);
  private final Feed feed = new Feed(clock, scheduler,
      new SnapshotBuilder(clock, List.of(new FakePool("nvidia", 1)), new Traffic(), new EventLog(clock)));

  @Test
  void clientWhoseCallerLeftBeforeItJoinedIsNotKeptAndStartsNoTicks() {
    StreamClient client = new StreamClient(null, Callback.NOOP, feed::leave);
    client.fail(new IOException("caller gone"));

    feed.join(client);

    assertThat(feed.clients()).isZero();
    assertThat(scheduler.pending()).isZero();
    tick();
    assertThat(feed.builds()).isZero();
  }

  @Test
  void tickDropsClientsThatHaveEndedAndThenStops() {
    // A client whose departure the feed was never told about: the tick still lets it go.
    StreamClient client = new StreamClient(null, Callback.NOOP, gone -> { });
    feed.join(client);
    assertThat(scheduler.pending()).isOne();

    client.close();
    tick();

    assertThat(feed.clients()).isZero();
    assertThat(scheduler.pending()).as("no more ticks with nobody watching").isZero();
    assertThat(feed.builds()).isZero();
  }

  private void tick() {
    clock.advance(Duration.ofSeconds(1));
    scheduler.runDue();
  }
}
