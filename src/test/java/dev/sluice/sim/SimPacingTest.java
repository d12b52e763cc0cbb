package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.time.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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

  @Test
  void ttftJitterAddsAUniformDrawFromTheSeededDiceToEachAdmittedCall() throws Exception {
    SimConfig config = SimConfig.defaults().withTtftMillis(1000).withTtftJitterMillis(1000).withSeed(42);
    List<Duration> waits;
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      waits = waitsOfCalls(client, 6);
    }

    assertThat(waits).containsExactly(ms(1281), ms(1045), ms(1794), ms(1041), ms(1227), ms(1768));
    try (SimServer sameSeed = start(config); SimClient client = new SimClient(sameSeed)) {
      assertThat(waitsOfCalls(client, 6)).isEqualTo(waits);
    }
    try (SimServer otherSeed = start(config.withSeed(7)); SimClient client = new SimClient(otherSeed)) {
      assertThat(waitsOfCalls(client, 6)).containsExactly(ms(1764), ms(1868), ms(1186), ms(1531), ms(1223), ms(1694));
    }
  }

  @Test
  void callRefusedByTheLimitIsAnswered429AtOnceWhateverTheJitter() throws Exception {
    SimConfig config = SimConfig.defaults().withRpm(1).withBurst(1).withTtftMillis(1000).withTtftJitterMillis(1000);
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      CompletableFuture<HttpResponse<String>> admitted = client.postAsync("/v1/chat/completions", chat("m"));
      assertThat(sleeper.awaitSleeping(1)).hasSize(1);

      CompletableFuture<HttpResponse<String>> refused = client.postAsync("/v1/chat/completions", chat("m"));

      assertThat(refused).succeedsWithin(Duration.ofSeconds(30)).extracting(HttpResponse::statusCode).isEqualTo(429);
      assertThat(sleeper.sleeping()).hasSize(1);
      assertThat(admitted).isNotDone();
      sleeper.advance(sleeper.sleeping().getFirst());
      assertThat(admitted).succeedsWithin(Duration.ofSeconds(30)).extracting(HttpResponse::statusCode).isEqualTo(200);
    }
  }

  @Test
  void ttftHeaderReplacesTheConfiguredDelayAndItsJitter() throws Exception {
    SimConfig config = SimConfig.defaults().withTtftMillis(100).withTtftJitterMillis(1000).withSeed(42);
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      assertAnsweredAfter(ms(150), client, "X-Sim-Ttft-Ms", "150");
    }
  }

  @Test
  void wholeAnswerWaitsTtftPlusItsJitterPlusThePerTokenDelays() throws Exception {
    SimConfig config = SimConfig.defaults().withTtftMillis(100).withTtftJitterMillis(1000).withPerTokenMillis(10)
        .withCompletionTokens(3).withSeed(42);
    try (SimServer sim = start(config); SimClient client = new SimClient(sim)) {
      assertAnsweredAfter(ms(100 + 281 + 3 * 10), client); // 281: seed 42's first jitter, as above
    }
  }

  /** Sends {@code count} chat calls one after the other and returns how long each slept before its answer. */
  private List<Duration> waitsOfCalls(SimClient client, int count) throws InterruptedException {
    List<Duration> waits = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      CompletableFuture<HttpResponse<String>> answer = client.postAsync("/v1/chat/completions", chat("m"));
      Duration wait = sleeper.awaitSleeping(1).getFirst();
      waits.add(wait);
      sleeper.advance(wait);
      assertThat(answer).succeedsWithin(Duration.ofSeconds(30)).extracting(HttpResponse::statusCode).isEqualTo(200);
    }
    return waits;
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
