package dev.sluice.sim;

import static dev.sluice.sim.SimClient.chat;
import static dev.sluice.sim.SimClient.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Refusing connections on command: the port closes at once and reopens, the same port, when the clock says. */
class SimRefusalTest {
  private static final Duration AWAIT = Duration.ofSeconds(30);
  private final ManualClock clock = new ManualClock();
  private final ManualSleeper sleeper = new ManualSleeper(clock);
  private SimServer sim;
  private int port;

  @BeforeEach
  void start() {
    sim = SimServer.start(SimConfig.defaults(), clock, sleeper, "127.0.0.1", 0);
    port = sim.port();
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  private void assertRefused() {
    assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class)
        .hasMessageContaining("Connection refused");
  }

  private void assertServes() {
    try (SimClient client = new SimClient(sim)) {
      assertThat(client.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
    }
  }

  private void awaitAccepting() {
    await().atMost(AWAIT).until(() -> !sim.refusingConnections());
  }

  @Test
  void postRefuseConnectionsAnswersFirstThenRefusesUntilTheTimeIsUpOnTheSamePort() throws Exception {
    HttpResponse<String> answer;
    try (SimClient client = new SimClient(sim)) {
      answer = client.post("/sim/config", "{\"refuse_connections_seconds\":30,\"rpm\":600}");
    }

    assertThat(answer.statusCode()).isEqualTo(200);
    JsonNode body = json(answer);
    assertThat(body.get("refuse_connections_seconds").asLong()).isEqualTo(30);
    assertThat(body.get("rpm").asInt()).isEqualTo(600);
    assertThat(sim.config().rpm()).isEqualTo(600);
    assertThat(sim.refusingConnections()).isTrue();
    assertRefused();
    assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofSeconds(30));

    sleeper.advance(Duration.ofSeconds(29));
    assertRefused();
    sleeper.advance(Duration.ofSeconds(1));

    awaitAccepting();
    assertThat(sim.port()).isEqualTo(port);
    assertServes();
  }

  @Test
  void refusingDropsOpenConnectionsAndEndsTheirRequestsWithoutCountingThemAsClientDisconnects()
      throws Exception {
    try (SimClient client = new SimClient(sim); Socket idle = new Socket("127.0.0.1", port)) {
      idle.setSoTimeout(30_000);
      CompletableFuture<HttpResponse<String>> waiting =
          client.postAsync("/v1/chat/completions", chat("m"), "X-Sim-Ttft-Ms", "60000");
      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofSeconds(60));
      assertThat(sim.stats().inFlight()).isEqualTo(1);

      sim.refuseConnections(Duration.ofSeconds(10));

      assertThat(waiting).failsWithin(AWAIT).withThrowableOfType(ExecutionException.class)
          .withCauseInstanceOf(IOException.class);
      assertThat(idle.getInputStream().read()).isEqualTo(-1);
      await().atMost(AWAIT).until(() -> sim.stats().inFlight() == 0);
      assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofSeconds(10)); // the reopening only
      assertThat(sim.stats().clientDisconnects()).isZero();
      assertRefused();
    }
  }

  @Test
  void theAnswerToPostRefuseReachesAKeepAliveClientAndClosesItsConnection() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(30_000);
      String body = "{\"refuse_connections_seconds\":5}";
      OutputStream out = socket.getOutputStream();
      out.write(("POST /sim/config HTTP/1.1\r\nHost: sim\r\nContent-Type: application/json\r\nContent-Length: "
          + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
      out.flush();

      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

      assertThat(answer).startsWith("HTTP/1.1 200 OK\r\n").contains("\r\nConnection: close\r\n")
          .endsWith("\"refuse_connections_seconds\":5}");
    }
    assertRefused();
  }

  @Test
  void acceptConnectionsReopensAtOnceAndTheSamePortSurvivesManyCycles() throws Exception {
    for (int cycle = 0; cycle < 20; cycle++) {
      sim.refuseConnections(Duration.ofHours(1));
      assertRefused();

      sim.acceptConnections();

      assertThat(sim.refusingConnections()).isFalse();
      assertThat(sim.port()).isEqualTo(port);
      assertServes();
    }
    // The reopenings that were due in an hour were forgotten: nothing closes the port then.
    await().atMost(AWAIT).until(() -> sleeper.sleeping().isEmpty());
    sleeper.advance(Duration.ofHours(2));
    assertServes();
  }

  @Test
  void aSecondRefusalReplacesTheTimeLeft() throws Exception {
    sim.refuseConnections(Duration.ofSeconds(10));
    sleeper.advance(Duration.ofSeconds(6));
    sim.refuseConnections(Duration.ofSeconds(10));

    assertThat(sleeper.awaitSleeping(1)).containsExactly(Duration.ofSeconds(10));
    sleeper.advance(Duration.ofSeconds(9));
    assertRefused();
    sleeper.advance(Duration.ofSeconds(1));

    awaitAccepting();
    assertServes();
  }

  @Test
  void statsAndConfigSurviveARefusal() throws Exception {
    assertServes();
    sim.updateConfig(sim.config().withRpm(60).withBurst(2));
    sim.refuseConnections(Duration.ofSeconds(1));
    sim.acceptConnections();

    assertServes();
    assertThat(sim.stats().accepted()).isEqualTo(2);
    try (SimClient client = new SimClient(sim)) {
      assertThat(client.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(429);
    }
  }

  @Test
  void invalidRefusalsChangeNothing() throws Exception {
    try (SimClient client = new SimClient(sim)) {
      HttpResponse<String> zero = client.post("/sim/config", "{\"refuse_connections_seconds\":0,\"rpm\":5}");
      HttpResponse<String> tooLong = client.post("/sim/config", "{\"refuse_connections_seconds\":86401}");
      HttpResponse<String> text = client.post("/sim/config", "{\"refuse_connections_seconds\":\"10\"}");
      HttpResponse<String> badOption = client.post("/sim/config", "{\"refuse_connections_seconds\":5,\"rpm\":-1}");

      assertThat(zero.statusCode()).isEqualTo(400);
      assertThat(json(zero).get("error").get("message").asText())
          .isEqualTo("sim.refuse_connections_seconds: 0 is outside 1..86400");
      assertThat(json(tooLong).get("error").get("message").asText())
          .isEqualTo("sim.refuse_connections_seconds: 86401 is outside 1..86400");
      assertThat(json(text).get("error").get("message").asText())
          .isEqualTo("sim.refuse_connections_seconds: \"10\" is not a whole number");
      assertThat(json(badOption).get("error").get("message").asText()).isEqualTo("sim.rpm: -1 is outside 0..1000000");
    }
    assertThat(sim.refusingConnections()).isFalse();
    assertThat(sim.config()).isEqualTo(SimConfig.defaults());
    assertThatThrownBy(() -> sim.refuseConnections(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("sim.refuse_connections_seconds: PT0S is outside 1..86400 whole seconds");
    assertThatThrownBy(() -> sim.refuseConnections(Duration.ofMillis(1500)))
        .hasMessage("sim.refuse_connections_seconds: PT1.5S is outside 1..86400 whole seconds");
    assertServes();
  }

  @Test
  void closeWhileRefusingStopsTheServerAndItsTimer() throws Exception {
    sim.refuseConnections(Duration.ofSeconds(30));
    assertThat(sleeper.awaitSleeping(1)).hasSize(1);

    sim.close();

    await().atMost(AWAIT).until(() -> sleeper.sleeping().isEmpty());
    assertRefused();
  }

  @Test
  void severalSimsRefuseIndependently() throws Exception {
    try (SimServer other = SimServer.start(SimConfig.defaults(), clock, sleeper, "127.0.0.1", 0);
        SimClient otherClient = new SimClient(other)) {
      sim.refuseConnections(Duration.ofSeconds(30));

      assertRefused();
      assertThat(other.refusingConnections()).isFalse();
      assertThat(otherClient.post("/v1/chat/completions", chat("m")).statusCode()).isEqualTo(200);
    }
  }

}
