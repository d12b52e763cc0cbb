package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What Sluice refuses to take on: a body over the limit, and more requests than an upstream's connections. */
class RequestLimitsTest {
  private final Harness harness = new Harness();

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  @Test
  void aBodyAnnouncedOverTheLimitWithExpectContinueGets413BeforeItIsSent() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_MAX_BODY_BYTES", "1024"));

    // The caller waits for "100 Continue" before sending its body; Sluice answers at once instead.
    RawHttp.Reply reply = RawHttp.exchange(sluice.port(), "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + "Content-Type: application/json\r\nContent-Length: 1025\r\nExpect: 100-continue\r\n\r\n");

    assertThat(reply.status()).isEqualTo(413);
    assertThat(reply.header("X-Sluice-Request-Id")).isPresent();
    assertThat(reply.body()).isEqualTo("{\"error\":{\"message\":\"The request body is larger than the limit of 1024 "
        + "bytes.\",\"type\":\"invalid_request_error\",\"code\":\"request_too_large\"}}");
    assertThat(sim.recentRequests()).isEmpty();
  }

  /**
   * A passthrough request (model {@code x}) and a pool's ({@code nvidia/x}): the pool's 503 also carries the pool's
   * state, as Sluice's other refusals do.
   */
  @ParameterizedTest
  @ValueSource(strings = {"x", "nvidia/x"})
  void moreRequestsWaitingForAnUpstreamConnectionThanAllowedGet503(String model, @TempDir Path dir) throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluiceFromYaml("""
        server: {max_connections_per_upstream: 1, max_queued_per_upstream: 1}
        upstream: %s
        pools:
          - name: nvidia
            backends: [{id: nv-1, base_url: "%s", rate_rpm: 1, capacity: 10}]
        """.formatted(sim.baseUrl(), sim.baseUrl()), Map.of(), dir);
    String chat = "{\"model\":\"" + model + "\",\"messages\":[]}";
    String slowChat = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "X-Sim-Ttft-Ms: 60000\r\nContent-Length: " + chat.length() + "\r\n\r\n" + chat;
    List<CompletableFuture<HttpResponse<String>>> waiting;
    try (Socket holdsTheConnection = new Socket("127.0.0.1", sluice.port())) {
      holdsTheConnection.getOutputStream().write(slowChat.getBytes(StandardCharsets.US_ASCII));
      await().atMost(Duration.ofSeconds(10)).until(() -> sim.stats().inFlight() == 1);

      // One of the two may wait for the only connection; the other is one too many.
      waiting = List.of(postAsync(sluice, chat), postAsync(sluice, chat));
      HttpResponse<?> refused = (HttpResponse<?>) CompletableFuture.anyOf(waiting.toArray(CompletableFuture[]::new))
          .get(20, TimeUnit.SECONDS);

      assertThat(refused.statusCode()).isEqualTo(503);
      assertThat(refused.body()).isEqualTo("{\"error\":{\"message\":\"Too many requests are waiting for a connection "
          + "to the upstream 127.0.0.1:" + sim.port() + ".\",\"type\":\"upstream_error\","
          + "\"code\":\"upstream_overloaded\"}}");
      assertThat(refused.headers().firstValue("Retry-After")).contains("1");
      if (model.equals("x")) {
        assertThat(refused.headers().firstValue("x-ratelimit-limit-requests")).isEmpty();
      } else {
        // 1 RPM; of the 10 tokens, three went to the requests sent.
        assertThat(refused.headers().firstValue("x-ratelimit-limit-requests")).contains("1");
        assertThat(refused.headers().firstValue("x-ratelimit-remaining-requests")).contains("7");
        assertThat(refused.headers().firstValue("x-ratelimit-reset-requests")).contains("1s");
      }
    }
    // The first caller hung up: its upstream exchange is aborted, which frees the connection for the one waiting.
    List<Integer> statuses = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> response : waiting) {
      statuses.add(response.get(20, TimeUnit.SECONDS).statusCode());
    }
    assertThat(statuses).containsExactlyInAnyOrder(200, 503);
  }

  private CompletableFuture<HttpResponse<String>> postAsync(Sluice sluice, String chat) {
    return harness.http.sendAsync(HttpRequest.newBuilder(uri(sluice, "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(chat)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
