package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.SimServer;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
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

  private static String openAiError(String message, String type, String code) {
    return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"" + type + "\",\"code\":\"" + code + "\"}}";
  }

  static Stream<Arguments> requestLinesJettyRefuses() {
    return Stream.of(
        Arguments.of("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 426, openAiError(
            "Sluice does not speak HTTP/2; send HTTP/1.1.", "invalid_request_error", "http2_not_supported")),
        Arguments.of("GET /v1/models\r\n\r\n", 400, openAiError(
            "The request line has no HTTP version; send HTTP/1.1.", "invalid_request_error", "missing_http_version")),
        Arguments.of("GET /v1/models HTTP/3.0\r\nHost: x\r\n\r\n", 505, openAiError(
            "Sluice could not handle the request (HTTP Version Not Supported).", "server_error",
            "http_version_not_supported")),
        Arguments.of("PUT /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, openAiError(
            "URI Too Long.", "invalid_request_error", "uri_too_long")));
  }

  /** An HTTP/2 preface, a request line without a version (malformed: 400), an unknown version, an overlong URI. */
  @ParameterizedTest(name = "{1}")
  @MethodSource
  void requestLinesJettyRefuses(String request, int status, String body) throws Exception {
    RawHttp.Reply reply = send(request);

    assertThat(reply.status()).isEqualTo(status);
    assertThat(reply.header("Content-Type")).contains("application/json");
    assertThat(reply.body()).isEqualTo(body);
  }

  @ParameterizedTest
  @ValueSource(strings = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", "BREW"})
  void aMalformedRequestGets400WithAnOpenAiErrorWhateverItsMethod(String method) throws Exception {
    RawHttp.Reply reply = send(method + " /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.header("Content-Type")).contains("application/json");
    assertThat(reply.body()).isEqualTo(openAiError("Bad Request.", "invalid_request_error", "bad_request"));
  }

  @Test
  void aMalformedHeadRequestGets400WithoutABody() throws Exception {
    RawHttp.Reply reply = send("HEAD /v1/models HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n");

    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.body()).isEmpty();
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
    assertThat(reply.body()).isEqualTo(openAiError("Method " + method + " is not allowed: Sluice forwards API "
        + "requests, not tunnels or traces.", "invalid_request_error", "method_not_allowed"));
  }

  @ParameterizedTest
  @CsvSource({"POST, /status", "PUT, /health", "DELETE, /health/ready", "OPTIONS, /status"})
  void sluicesOwnEndpointsAnswer405ToAnythingButGetAndHead(String method, String path) throws Exception {
    RawHttp.Reply reply = send(method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");

    assertThat(reply.status()).isEqualTo(405);
    assertThat(reply.header("Allow")).contains("GET, HEAD");
    // Field order is not part of the contract.
    String expected = openAiError("Use GET for " + path + ".", "invalid_request_error", "method_not_allowed");
    assertThat(JSON.readTree(reply.body())).isEqualTo(JSON.readTree(expected));
  }
}
