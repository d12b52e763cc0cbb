package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Latency on a manual clock: each part of an answer is sent exactly when the clock reaches its instant. */
class SimPacingTest {
  private final ManualClock clock = new ManualClock();
  private final ManualSleeper sleeper = new ManualSleeper(clock);
  private SimServer sim;
  private SimClient client;

  private void start(SimConfig config) {
    sim = SimServer.start(config, clock, sleeper, "127.0.0.1", 0);
    client = new SimClient(sim);
  }

  @AfterEach
  void stop() {
    client.close();
    sim.close();
  }

  private static Duration ms(long millis) {
    return Duration.ofMillis(millis);
  }

  private HttpRequest stream(String... headers) {
    HttpRequest.Builder builder = client.request("/v1/chat/completions")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"stream\":true}"));
    if (headers.length > 0) {
      builder.headers(headers);
    }
    return builder.build();
  }

  @Test
  void streamSendsTheFirstTokenAfterTtftAndEachNextOnePerTokenDelayLater() throws Exception {
    start(SimConfig.defaults().withTtftMillis(100).withPerTokenMillis(10).withCompletionTokens(3));
    TimedLines lines = new TimedLines(client, stream(), clock);

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

  @Test
  void stalledStreamGoesSilentHalfWayForTheStallThenEnds() throws Exception {
    start(SimConfig.defaults().withPerTokenMillis(10).withStallMillis(300_000));
    TimedLines lines = new TimedLines(client, stream("X-Sim-Fault", "stall", "X-Sim-Chunks", "4"), clock);

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

  /** When the answer arrived by the manual clock, counted from now, with its status: {@code +130ms 200}. */
  private CompletableFuture<String> timedPost(String... headers) {
    long sent = clock.nanoTime();
    return client.postAsync("/v1/chat/completions", chat("m"), headers).thenApply(response ->
        "+" + Duration.ofNanos(clock.nanoTime() - sent).toMillis() + "ms " + response.statusCode());
  }

  @Test
  void wholeAnswerWaitsTtftPlusThePerTokenDelayForEveryToken() throws Exception {
    start(SimConfig.defaults().withTtftMillis(100).withPerTokenMillis(10).withCompletionTokens(3));
    CompletableFuture<String> answered = timedPost();

    assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(130));
    sleeper.advance(ms(129));
    assertThat(answered).isNotDone();
    sleeper.advance(ms(1));
    assertThat(answered).succeedsWithin(Duration.ofSeconds(30)).isEqualTo("+130ms 200");
  }

  @Test
  void ttftHeaderReplacesTheConfiguredTimeToFirstToken() throws Exception {
    start(SimConfig.defaults().withTtftMillis(100));
    CompletableFuture<String> answered = timedPost("X-Sim-Ttft-Ms", "150");

    assertThat(sleeper.awaitSleeping(1)).containsExactly(ms(150));
    sleeper.advance(ms(149));
    assertThat(answered).isNotDone();
    sleeper.advance(ms(1));
    assertThat(answered).succeedsWithin(Duration.ofSeconds(30)).isEqualTo("+150ms 200");
  }
}
