package dev.sluice.proxy;

import static dev.sluice.proxy.CannedUpstream.response;
import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The response direction against an upstream whose every byte the test chooses ({@link CannedUpstream}).
 */
class UpstreamResponseTest {
  private static final String SSE = "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
      + ": keep-alive comment\r\n\r\n"
      + "event: odd\ndata:  two  spaces \ndata: {\"n\":1e400}\n\n"
      + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":1,\"total_tokens\":3}}\n\n"
      + "data: [DONE]\n\n";
  private final Harness harness = new Harness();
  private CannedUpstream upstream;

  @AfterEach
  void stop() throws Exception {
    harness.close();
    if (upstream != null) {
      upstream.close();
    }
  }

  private Sluice sluiceInFrontOf(CannedUpstream upstream) throws Exception {
    this.upstream = upstream;
    return harness.sluice(Map.of("SIDECAR_UPSTREAM", "http://127.0.0.1:" + upstream.port() + "/v1"));
  }

  private HttpResponse<byte[]> get(Sluice sluice, String path) throws Exception {
    return harness.http.send(HttpRequest.newBuilder(Harness.uri(sluice, path)).timeout(Duration.ofSeconds(20))
        .build(), HttpResponse.BodyHandlers.ofByteArray());
  }

  @Test
  void hopByHopResponseHeadersStopAtSluiceAndTheRestPass() throws Exception {
    byte[] body = "{\"ok\":true}".getBytes(StandardCharsets.US_ASCII);
    Sluice sluice = sluiceInFrontOf(new CannedUpstream(response("200 OK",
        "Content-Type: application/json\r\nContent-Length: " + body.length + "\r\n"
            + "Connection: X-Hop, close\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n"
            + "X-Kept: yes\r\nX-Request-Cost: 0.5\r\n", body)));

    HttpResponse<byte[]> response = get(sluice, "/v1/anything");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.body()).isEqualTo(body);
    assertThat(response.headers().firstValue("X-Kept")).contains("yes");
    assertThat(response.headers().firstValue("X-Request-Cost")).contains("0.5");
    assertThat(response.headers().map().keySet()).map(String::toLowerCase)
        .doesNotContain("x-hop", "keep-alive", "proxy-authenticate");
  }

  @Test
  void compressedBodiesPassAsSentWithTheirEncoding() throws Exception {
    ByteArrayOutputStream gzipped = new ByteArrayOutputStream();
    try (GZIPOutputStream gzip = new GZIPOutputStream(gzipped)) {
      gzip.write("{\"object\":\"list\",\"data\":[]}".repeat(50).getBytes(StandardCharsets.US_ASCII));
    }
    byte[] body = gzipped.toByteArray();
    Sluice sluice = sluiceInFrontOf(new CannedUpstream(response("200 OK",
        "Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: " + body.length + "\r\n", body)));

    HttpResponse<byte[]> response = get(sluice, "/v1/files");

    assertThat(response.headers().firstValue("Content-Encoding")).contains("gzip");
    assertThat(response.body()).isEqualTo(body);
  }

  @Test
  void aStreamArrivesByteForByteWhateverItsChunking() throws Exception {
    byte[] events = SSE.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream chunked = new ByteArrayOutputStream();
    for (int at = 0, size = 1; at < events.length; at += size, size = size * 3 % 97 + 1) {
      int n = Math.min(size, events.length - at);
      chunked.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
      chunked.write(events, at, n);
      chunked.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    chunked.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    Sluice sluice = sluiceInFrontOf(new CannedUpstream(response("200 OK",
        "Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n", chunked.toByteArray())));

    HttpResponse<byte[]> response = get(sluice, "/v1/chat/completions");

    assertThat(response.headers().firstValue("Content-Type")).contains("text/event-stream");
    assertThat(new String(response.body(), StandardCharsets.UTF_8)).isEqualTo(SSE);
  }
}
