package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What Sluice answers, over raw sockets, to requests an API has no use for (malformed or HTTP/2 request lines,
 * tunnels and traces, wrong methods on Sluice's own endpoints): an OpenAI error body on every 4xx, never an empty or
 * HTML one, and nothing sent upstream.
 */
class BadInputTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Harness harness = new Harness();
  private SimServer sim;
  private Sluice sluice;

  @BeforeEach
  void start() throws Exception {
    sim = harness.sim();
    sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl()));
  }

  @AfterEach
  void stop() throws Exception {
    harness.close();
    assertThat(sim.recentRequests()).as("requests that reached the upstream").isEmpty();
  }

  private RawHttp.Reply send(String request) throws Exception {
    return RawHttp.exchange(sluice.port(), request);
  }

  @Test
  void anHttp2PriorKnowledgePrefaceGets426WithAnOpenAiError() throws Exception {
    RawHttp.Reply reply = send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    assertThat(reply.status()).isEqualTo(426);
    assertThat(reply.header("Content-Type")).contains("application/json");
    assertThat(reply.body()).isEqualTo("{\"error\":{\"message\":\"Sluice does not speak HTTP/2; send HTTP/1.1.\","
        + "\"type\":\"invalid_request_error\",\"code\":\"http2_not_supported\"}}");
  }

  @Test
  void aRequestLineWithoutAVersionIsMalformed() throws Exception {
    RawHttp.Reply reply = send("GET /v1/models\r\n\r\n");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body()).isEqualTo("{\"error\":{\"message\":\"The request line has no HTTP version; send "
        + "HTTP/1.1.\",\"type\":\"invalid_request_error\",\"code\":\"missing_http_version\"}}");
  }

  @Test
  void anUnknownHttpVersionStays505() throws Exception {
    RawHttp.Reply reply = send("GET /v1/models HTTP/3.0\r\nHost: x\r\n\r\n");

    assertThat(reply.status()).isEqualTo(505);
    assertThat(reply.body()).isEqualTo("{\"error\":{\"message\":\"Sluice could not handle the request (HTTP "
        + "Version Not Supported).\",\"type\":\"server_error\",\"code\":\"http_version_not_supported\"}}");
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "BREW"})
  void aMalformedRequestGets400WithAnOpenAiErrorWhateverItsMethod(String method) throws Exception {
    RawHttp.Reply reply = send(method + " /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.header("Content-Type")).contains("application/json");
    assertThat(reply.body()).isEqualTo(
        "{\"error\":{\"message\":\"Bad Request.\",\"type\":\"invalid_request_error\",\"code\":\"bad_request\"}}");
  }

  @Test
  void aMalformedHeadRequestGets400WithoutABody() throws Exception {
    RawHttp.Reply reply = send("HEAD /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body()).isEmpty();
  }

  @Test
  void anOverlongUriGets414WithAnOpenAiError() throws Exception {
    RawHttp.Reply reply = send("PUT /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");

    assertThat(reply.status()).isEqualTo(414);
    assertThat(reply.body()).isEqualTo(
        "{\"error\":{\"message\":\"URI Too Long.\",\"type\":\"invalid_request_error\",\"code\":\"uri_too_long\"}}");
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n",
      "TRACE /v1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      "trace /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"})
  void connectAndTraceGet405AndNeverReachTheUpstream(String request) throws Exception {
    String method = request.substring(0, request.indexOf(' '));

    RawHttp.Reply reply = send(request);

    assertThat(reply.status()).isEqualTo(405);
    assertThat(reply.header("Allow")).contains("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
    assertThat(reply.header("X-Sluice-Request-Id")).isPresent();
    assertThat(reply.body()).isEqualTo("{\"error\":{\"message\":\"Method " + method + " is not allowed: Sluice "
        + "forwards API requests, not tunnels or traces.\",\"type\":\"invalid_request_error\","
        + "\"code\":\"method_not_allowed\"}}");
  }

  @ParameterizedTest
  @CsvSource({"POST, /status", "PUT, /health", "DELETE, /health/ready", "OPTIONS, /status"})
  void sluicesOwnEndpointsAnswer405ToAnythingButGetAndHead(String method, String path) throws Exception {
    RawHttp.Reply reply = send(method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");

    assertThat(reply.status()).isEqualTo(405);
    assertThat(reply.header("Allow")).contains("GET, HEAD");
    // Field order is not part of the contract.
    assertThat(JSON.readTree(reply.body())).isEqualTo(JSON.readTree("{\"error\":{\"message\":\"Use GET for " + path
        + ".\",\"type\":\"invalid_request_error\",\"code\":\"method_not_allowed\"}}"));
  }
}
