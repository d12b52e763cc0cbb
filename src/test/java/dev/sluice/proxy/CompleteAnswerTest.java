package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Most HTTP clients close their connection as soon as they have read a whole answer. Sluice may see that close
 * before its upstream leg has finished, and must not count such a caller as one that hung up.
 */
final class CompleteAnswerTest {
  private static final String CHAT =
      "{\"model\":\"nvidia/llama-3\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  /** Enough exchanges that the close-before-upstream-end race, seen in about one of seven, shows up. */
  private static final int EXCHANGES = 200;

  private final Harness harness = new Harness();

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  @Test
  void callersThatCloseOnceTheyHaveTheWholeAnswerCountAsServed() throws Exception {
    SimServer sim = harness.sim(SimConfig.defaults().withTtftMillis(0).withPerTokenMillis(0)
        .withCompletionTokens(3));
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_RATE_RPM", "100000",
        "SIDECAR_BUCKET_CAPACITY", "100000"));
    String request = "POST /v1/chat/completions HTTP/1.1\r\nHost: sluice\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + CHAT.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + CHAT;

    try (RequestLogCapture log = new RequestLogCapture()) {
      for (int i = 0; i < EXCHANGES; i++) {
        RawHttp.Reply reply = RawHttp.exchange(sluice.port(), request); // reads Content-Length bytes, then closes
        assertThat(reply.status()).isEqualTo(200);
        assertThat(reply.body()).contains("\"chat.completion\"");
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> log.lines().size() == EXCHANGES);

      assertThat(log.lines()).extracting(line -> RequestLogCapture.value(line, "failure")).containsOnlyNulls();
      assertThat(log.lines()).extracting(line -> RequestLogCapture.value(line, "status")).containsOnly(200);
    }
  }
}
