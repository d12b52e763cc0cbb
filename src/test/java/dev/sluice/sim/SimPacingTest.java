package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Latency on a manual clock: each part of an answer is sent exactly when the clock reaches its instant. */
class SimPacingTest {
  private final ManualClock clock = new ManualClock();
  private final ManualSleeper sleeper = new ManualSleeper(clock);

  private SimServer start(SimConfig config) {
    return SimServer.start(config, clock, sleeper, "127.0.0.1", 0);
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }

  private static HttpRequest stream(SimClient client, String... headers) {
    HttpRequest.Builder builder = client.request("/v1/chat/completions")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true}"));
    if (headers.length > 0) {
      builder.headers(headers);
    }
    return builder.build();
  }

  @Test
  void streamSendsTheFirstTokenAfterTtftAndEachNextOnePerTokenDelayLater() throws Exception {
    SimConfig config = SimConfig.defaults().withTtftMillis(100).withPerTokenMillis(10).withCompletionTokens(3);
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      TimedLines lines = new TimedLines(client, stream(client), clock);

      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(100));
      sleeper.advance(ms(99));
      assertThat(sleeper.sleeping()).containsExactly(ms(1));
      assertThat(lines.received()).isEmpty();
      sleeper.advance(ms(1));
      assertThat(lines.next()).isEqualTo("+100ms 200");
      assertThat(lines.next()).isEqualTo("+100ms \"Sluice\"");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(10));
      sleeper.advance(ms(10));
      assertThat(lines.next()).isEqualTo("+110ms \" simulates\"");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(10));
      sleeper.advance(ms(10));
      assertThat(lines.next()).isEqualTo("+120ms \" a\"");
      assertThat(lines.next()).isEqualTo("+120ms finish_reason=stop");
      assertThat(lines.next()).isEqualTo("+120ms [DONE]");
      assertThat(lines.next()).isEqualTo("+120ms end");
      assertThat(sleeper.sleeping()).isEmpty();
    }
  }

  @Test
  void stalledStreamGoesSilentHalfWayForTheStallThenEnds() throws Exception {
    try (SimServer sim = start(SimConfig.defaults().withPerTokenMillis(10).withStallMillis(300_000));
        SimClient client = new SimClient(sim)) {
      TimedLines lines = new TimedLines(client, stream(client, "X-Sim-Fault", "stall", "X-Sim-Chunks", "4"), clock);

      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(10));
      assertThat(lines.next()).isEqualTo("+0ms 200");
      assertThat(lines.next()).isEqualTo("+0ms \"Sluice\"");
      sleeper.advance(ms(10));
      assertThat(lines.next()).isEqualTo("+10ms \" simulates\"");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(300_000));
      assertThat(sim.stats().stalls()).isEqualTo(1);
      sleeper.advance(ms(299_999));
      assertThat(sleeper.sleeping()).containsExactly(ms(1));
      assertThat(lines.received()).isEmpty();
      sleeper.advance(ms(1));
      assertThat(lines.next()).isEqualTo("+300010ms \" a\"");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(10));
      sleeper.advance(ms(10));
      assertThat(lines.next()).isEqualTo("+300020ms \" provider\"");
      assertThat(lines.next()).isEqualTo("+300020ms finish_reason=stop");
      assertThat(lines.next()).isEqualTo("+300020ms [DONE]");
      assertThat(lines.next()).isEqualTo("+300020ms end");
      assertThat(sim.stats().stalls()).isEqualTo(1);
    }
  }

  @Test
  void wholeAnswerWaitsTtftPlusThePerTokenDelayForEveryToken() throws Exception {
    SimConfig config = SimConfig.defaults().withTtftMillis(100).withPerTokenMillis(10).withCompletionTokens(3);
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      assertAnsweredAfter(ms(130), client);
    }
  }

  @Test
  void ttftHeaderReplacesTheConfiguredTimeToFirstToken() throws Exception {
    try (SimServer sim = start(SimConfig.defaults().withTtftMillis(100)); SimClient client = new SimClient(sim)) {
      assertAnsweredAfter(ms(150), client, "X-Sim-Ttft-Ms", "150");
    }
  }

  /** Sends a chat call that must sleep {@code wait} in one piece, and be answered then and not a millisecond before. */
  private void assertAnsweredAfter(Duration wait, SimClient client, String... headers) throws InterruptedException {
    long sent = clock.nanoTime();
    CompletableFuture<String> answered = client.postAsync("/v1/chat/completions", chat("m"), headers).thenApply(
        response -> "+" + Duration.ofNanos(clock.nanoTime() - sent).toMillis() + "ms " + response.statusCode());

    assertThat(sleeper.awaitSleeping(1)).containsExactly(wait);
    sleeper.advance(wait.minusMillis(1));
    assertThat(answered).isNotDone();
    sleeper.advance(ms(1));
    assertThat(answered).succeedsWithin(Duration.ofSeconds(30)).isEqualTo("+" + wait.toMillis() + "ms 200");
  }
}
