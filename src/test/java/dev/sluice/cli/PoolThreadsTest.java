package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.config.ConfigLoader;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The shared pool's threads after bursts: waiting requests hold no thread, callers that leave cost none, and what
 * a burst did start retires once idle. Real sockets against Sluice and the sim in-process on ephemeral ports.
 */
class PoolThreadsTest {
  private static final String MODEL = DemoCommand.DEMO_MODEL;
  private static final Duration GENEROUS = Duration.ofSeconds(60);
  private final List<AutoCloseable> running = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable resource : running.reversed()) {
      resource.close();
    }
  }

  @Test
  void idleThreadsAboveTheMinimumRetireTogetherAfterABurst() throws Exception {
    int minThreads = 4;
    int busy = 60;
    ProxyThreadPool pool = new ProxyThreadPool(busy + minThreads, minThreads, Duration.ofSeconds(1));
    pool.start();
    running.add(pool::stop);
    CountDownLatch started = new CountDownLatch(busy);
    CountDownLatch release = new CountDownLatch(1);
    for (int i = 0; i < busy; i++) {
      pool.execute(() -> {
        started.countDown();
        try {
          release.await(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
    assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();
    assertThat(pool.getThreads()).isGreaterThanOrEqualTo(busy);

    release.countDown();

    // One thread per idle timeout, Jetty's default, would take a minute; all of them leave within about two.
    await().atMost(Duration.ofSeconds(20)).until(() -> pool.getThreads() == minThreads);
  }

  @Test
  void poolReturnsToItsBaselineAfterABurstOfCallersThatQueueAndLeave() throws Exception {
    int callers = 1_000;
    int answeredAtOnce = callers / 4;
    SimServer sim = sim(SimConfig.defaults());
    Sluice sluice = sluice(sim, Duration.ofSeconds(1), Map.of(
        ConfigLoader.ENV_RATE_RPM, "1", ConfigLoader.ENV_BUCKET_CAPACITY, Integer.toString(answeredAtOnce),
        ConfigLoader.ENV_QUEUE_MAX, Integer.toString(callers), ConfigLoader.ENV_TIMEOUT, "600"));
    int baseline = sluice.poolThreads();
    Dispatcher dispatcher = sluice.dispatchers().getFirst();

    List<Socket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < callers; i++) {
        sockets.add(send(sluice, false));
      }
      await().atMost(GENEROUS).untilAsserted(() -> assertThat(dispatcher.snapshot())
          .extracting(PoolSnapshot::dispatched, PoolSnapshot::size)
          .containsExactly((long) answeredAtOnce, callers - answeredAtOnce));
      assertThat(sluice.poolThreads()).as("threads while %d requests wait", callers - answeredAtOnce)
          .isLessThanOrEqualTo(baseline);
    } finally {
      for (Socket socket : sockets) {
        socket.close(); // most callers leave while queued
      }
    }
    await().atMost(GENEROUS).until(() -> dispatcher.snapshot().size() == 0);

    await().atMost(GENEROUS).until(() -> sluice.poolThreads() <= baseline);
  }

  @Test
  void callersHangingUpMidStreamLeaveNoExtraThreads() throws Exception {
    int callers = 100; // the most one backend may have in flight
    SimServer sim = sim(SimConfig.defaults().withPerTokenMillis(100).withCompletionTokens(10_000));
    // An idle timeout longer than the test: a thread started here would still be counted at the end.
    Sluice sluice = sluice(sim, Duration.ofMinutes(10), Map.of(
        ConfigLoader.ENV_BUCKET_CAPACITY, Integer.toString(callers),
        ConfigLoader.ENV_MAX_CONCURRENT, Integer.toString(callers)));
    int baseline = sluice.poolThreads();

    List<Socket> sockets = new ArrayList<>();
    try {
      for (int i = 0; i < callers; i++) {
        sockets.add(send(sluice, true));
      }
      for (Socket socket : sockets) {
        readUntilFirstChunk(socket);
      }
      assertThat(sim.stats().inFlight()).isEqualTo(callers);
      assertThat(sluice.poolThreads()).as("threads while %d streams flow", callers).isLessThanOrEqualTo(baseline);
    } finally {
      for (Socket socket : sockets) {
        socket.close();
      }
    }
    await().atMost(GENEROUS).until(() -> sim.stats().inFlight() == 0);

    // The upstream notices the hundred aborted connections at once (as the simulated provider now does) and their
    // closes arrive as one burst, which may start a thread or two above the minimum; they retire after the idle
    // timeout. What must never happen is a thread per caller.
    assertThat(sluice.poolThreads()).as("threads after %d callers hung up", callers)
        .isLessThan(baseline + callers / 10);
  }

  private SimServer sim(SimConfig config) {
    SimServer sim = SimServer.start(config, Clock.system(), "127.0.0.1", 0);
    running.add(sim);
    return sim;
  }

  private Sluice sluice(SimServer sim, Duration threadIdleTimeout, Map<String, String> env) throws Exception {
    Map<String, String> all = new HashMap<>(env);
    all.put(ConfigLoader.ENV_PORT, "0");
    all.put(ConfigLoader.ENV_METRICS_PORT, "0");
    all.put(ConfigLoader.ENV_DB_PATH, ":memory:");
    all.put(ConfigLoader.ENV_UPSTREAM, sim.baseUrl());
    Sluice sluice = Wiring.build(new ConfigLoader(all).load(), Clock.system(), threadIdleTimeout);
    running.add(sluice);
    return sluice.start();
  }

  /** Opens a connection and sends one chat completion on it, without waiting for the answer. */
  private static Socket send(Sluice sluice, boolean stream) throws IOException {
    String body = "{\"model\":\"" + MODEL + "\",\"stream\":" + stream
        + ",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}";
    String request = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + body.length() + "\r\n\r\n" + body;
    Socket socket = new Socket("127.0.0.1", sluice.port());
    socket.setSoTimeout((int) GENEROUS.toMillis());
    socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
    return socket;
  }

  private static void readUntilFirstChunk(Socket socket) throws IOException {
    var reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
    assertThat(reader.readLine()).isEqualTo("HTTP/1.1 200 OK");
    String line;
    do {
      line = reader.readLine();
      assertThat(line).as("the stream ended before its first chunk").isNotNull();
    } while (!line.startsWith("data: "));
  }
}
