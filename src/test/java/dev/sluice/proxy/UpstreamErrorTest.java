package dev.sluice.proxy;

import static dev.sluice.proxy.CannedUpstream.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Upstream errors reach the caller as an OpenAI-shaped JSON error: a JSON error body as the upstream sent it, byte
 * for byte, anything else (an HTML page from a load balancer, a truncated JSON) wrapped with an excerpt.
 */
class UpstreamErrorTest {
  private static final String NGINX_502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
      + "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
  private final Harness harness = new Harness();
  private CannedUpstream upstream;

  @AfterEach
  void stop() throws Exception {
    try (harness) {
      if (upstream != null) {
        upstream.close();
      }
    }
  }

  private void startUpstream(String status, String headers, byte[] body) throws Exception {
    upstream = new CannedUpstream(response(status, headers + "Content-Length: " + body.length + "\r\n", body));
  }

  private Sluice sluiceInFrontOf(String status, String headers, byte[] body, String... env) throws Exception {
    startUpstream(status, headers, body);
    Map<String, String> all = new HashMap<>();
    all.put("SIDECAR_UPSTREAM", "http://127.0.0.1:" + upstream.port() + "/v1");
    for (int i = 0; i < env.length; i += 2) {
      all.put(env[i], env[i + 1]);
    }
    return harness.sluice(all);
  }

  private String upstreamName() {
    return "127.0.0.1:" + upstream.port();
  }

  private HttpResponse<byte[]> chat(Sluice sluice, String model) throws Exception {
    return harness.http.send(HttpRequest.newBuilder(Harness.uri(sluice, "/v1/chat/completions"))
        .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer caller-token-0042")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.ofByteArray());
  }

  private static String error(String message) {
    return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"upstream_error\","
        + "\"code\":\"upstream_non_json_error\"}}";
  }

  private static byte[] gzip(String text) throws IOException {
    ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
      gzip.write(text.getBytes(StandardCharsets.UTF_8));
    }
    return gzipped.toByteArray();
  }

  private static String text(HttpResponse<byte[]> response) {
    return new String(response.body(), StandardCharsets.UTF_8);
  }

  @Test
  void aJsonErrorIsRelayedByteForByteWithItsHeaders() throws Exception {
    byte[] body = ("{\"error\": {\"message\": \"Model \\u00abx\\u00bb not found\",\n  "
        + "\"type\":\"invalid_request_error\", \"param\":null, \"code\":\"model_not_found\"}, \"x_cost\": 1.50e0}\n")
        .getBytes(StandardCharsets.UTF_8);
    Sluice sluice = sluiceInFrontOf("404 Not Found", "Content-Type: application/json; charset=utf-8\r\n"
        + "X-Upstream-Request: u-1\r\n", body);

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(response.body()).isEqualTo(body);
    assertThat(response.headers().firstValue("Content-Type")).contains("application/json; charset=utf-8");
    assertThat(response.headers().firstValue("X-Upstream-Request")).contains("u-1");
  }

  @Test
  void anErrorToldAsAStreamIsRelayedAsOneUnchanged() throws Exception {
    byte[] body = "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".getBytes(StandardCharsets.UTF_8);
    Sluice sluice = sluiceInFrontOf("503 Service Unavailable", "Content-Type: text/event-stream\r\n", body);

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void aJsonErrorLongerThanWhatIsHeldIsRelayedByteForByte() throws Exception {
    byte[] body = ("{\"error\":{\"message\":\"" + "long ".repeat(UpstreamErrorBody.MAX_HELD_BYTES / 4)
        + "\",\"type\":\"server_error\",\"code\":null}}").getBytes(StandardCharsets.UTF_8);
    Sluice sluice = sluiceInFrontOf("500 Internal Server Error", "Content-Type: application/json\r\n", body);

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void aCompressedJsonErrorIsRelayedAsSent() throws Exception {
    byte[] body = gzip("{\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}");
    Sluice sluice = sluiceInFrontOf("503 Service Unavailable",
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\n", body);

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(503);
    assertThat(response.headers().firstValue("Content-Encoding")).contains("gzip");
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void anHtmlErrorPageIsWrappedInAnOpenAiErrorWithTheUpstreamsStatus() throws Exception {
    Sluice sluice = sluiceInFrontOf("502 Bad Gateway", "Content-Type: text/html\r\nETag: \"e1\"\r\n"
        + "X-Upstream-Request: u-2\r\n", NGINX_502.getBytes(StandardCharsets.US_ASCII));

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
    assertThat(response.headers().firstValue("ETag")).isEmpty();
    assertThat(response.headers().firstValue("X-Upstream-Request")).contains("u-2");
    assertThat(response.headers().firstValue("X-Sluice-Request-Id")).isPresent();
    assertThat(text(response)).isEqualTo(error("The upstream " + upstreamName() + " answered 502 with a body that "
        + "is not JSON (text/html): <html> <head><title>502 Bad Gateway</title></head> <body> <center><h1>502 Bad "
        + "Gateway</h1></center> <hr><center>nginx</center> </body> </html>"));
  }

  @Test
  void theExcerptIsBoundedHasNoControlCharactersAndMasksTheKeySentUpstream() throws Exception {
    String page = "Error \u001b[31mred\u001b[0m\u0000\u0085\u202e reversed\t\t tab. Request was: Authorization: "
        + "Bearer nvapi-backend-secret-77 ok " + "padding ".repeat(40);
    Sluice sluice = sluiceInFrontOf("500 Internal Server Error", "Content-Type: text/plain\r\n",
        page.getBytes(StandardCharsets.UTF_8), "SIDECAR_API_KEY", "nvapi-backend-secret-77");

    HttpResponse<byte[]> response = chat(sluice, "nvidia/x");

    String excerpt = ("Error [31mred [0m reversed tab. Request was: Authorization: Bearer **** ok "
        + "padding ".repeat(40)).substring(0, UpstreamErrorBody.EXCERPT_CHARS);
    assertThat(response.statusCode()).isEqualTo(500);
    assertThat(text(response)).isEqualTo(error("The upstream " + upstreamName() + " answered 500 with a body that "
        + "is not JSON (text/plain): " + excerpt + "…"));
  }

  static Stream<Arguments> otherErrorBodiesAreWrapped() throws Exception {
    return Stream.of(
        Arguments.of("500 Internal Server Error", "Content-Type: application/json\r\n",
            "{\"error\":{\"message\":\"cut sh".getBytes(StandardCharsets.US_ASCII),
            "with a body that is not JSON (application/json): {\\\"error\\\":{\\\"message\\\":\\\"cut sh"),
        Arguments.of("503 Service Unavailable", "Content-Type: text/plain; charset=us-ascii\r\n", new byte[0],
            "with an empty body (text/plain)."),
        Arguments.of("400 Bad Request", "", "plain words".getBytes(StandardCharsets.US_ASCII),
            "with a body that is not JSON (no Content-Type): plain words"),
        Arguments.of("502 Bad Gateway", "Content-Type: text/html\r\nContent-Encoding: gzip\r\n", gzip(NGINX_502),
            "with a body that is not JSON (text/html, gzip)."),
        // No backend key: the caller's own token went upstream, and is masked if the upstream echoes it.
        Arguments.of("401 Unauthorized", "Content-Type: text/plain\r\n",
            "bad token caller-token-0042".getBytes(StandardCharsets.US_ASCII),
            "with a body that is not JSON (text/plain): bad token ****"));
  }

  /** A JSON type whose body does not parse, an empty body, no type, a compressed page, a page echoing a token. */
  @ParameterizedTest(name = "{0}")
  @MethodSource
  void otherErrorBodiesAreWrapped(String status, String headers, byte[] body, String answered) throws Exception {
    Sluice sluice = sluiceInFrontOf(status, headers, body);

    HttpResponse<byte[]> response = chat(sluice, "x");

    String code = status.substring(0, 3);
    assertThat(response.statusCode()).isEqualTo(Integer.parseInt(code));
    assertThat(text(response))
        .isEqualTo(error("The upstream " + upstreamName() + " answered " + code + " " + answered));
  }

  @Test
  void aSuccessfulAnswerOfAnyTypePassesUntouched() throws Exception {
    byte[] page = "<html><body>fine</body></html>".getBytes(StandardCharsets.US_ASCII);
    Sluice sluice = sluiceInFrontOf("200 OK", "Content-Type: text/html\r\n", page);

    HttpResponse<byte[]> response = chat(sluice, "x");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type")).contains("text/html");
    assertThat(response.body()).isEqualTo(page);
  }

  /** The bucket's capacity, and the range the Retry-After must be in after one request at 1 RPM. */
  @ParameterizedTest(name = "capacity {0}")
  @CsvSource({"1, 30, 60", "10, 1, 1"})
  void anUpstream429WithoutRetryAfterGetsOneNamingTheBucketsNextToken(int capacity, long min, long max,
      @TempDir Path dir) throws Exception {
    byte[] body = "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"
        .getBytes(StandardCharsets.US_ASCII);
    startUpstream("429 Too Many Requests", "Content-Type: application/json\r\n", body);
    Sluice sluice = harness.sluiceFromYaml("""
        pools:
          - name: nvidia
            max_attempts: 1
            backends: [{id: canned, base_url: "http://127.0.0.1:%d/v1", rate_rpm: 1, capacity: %d}]
        """.formatted(upstream.port(), capacity), Map.of(), dir);

    HttpResponse<byte[]> response = chat(sluice, "nvidia/x");

    assertThat(response.statusCode()).isEqualTo(429);
    assertThat(response.body()).isEqualTo(body);
    // With the only token spent, the next comes about a minute later; with tokens left, at once (but at least 1 s).
    assertThat(Long.parseLong(response.headers().firstValue("Retry-After").orElseThrow())).isBetween(min, max);
  }
}
