package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * JSON over HTTP/1.1 to the endpoints a bench driver reads and steers while it runs: the simulated provider's
 * {@code /sim/stats} and {@code /sim/config}, Sluice's {@code /status} and admin API. Every call gives up after 5 s.
 * Thread-safe: the JDK's client is, and nothing else is kept.
 */
final class Control {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);

  private final HttpClient client;

  /** @param connectTimeout how long a new connection may take */
  Control(Duration connectTimeout) {
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout).build();
  }

  /** The JSON a GET answers with 200; an {@link IOException} naming the status for any other answer. */
  JsonNode get(URI uri) throws IOException, InterruptedException {
    HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(uri).timeout(CALL_TIMEOUT).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    return parse(response);
  }

  /**
   * As {@link #get}, but null for anything but a JSON 200 (the endpoint does not answer: a sim refusing connections,
   * an admin endpoint this Sluice does not have). An interrupt is kept for the caller to see.
   */
  JsonNode getOrNull(URI uri) {
    try {
      return get(uri);
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  /** POSTs {@code body} (JSON) and returns the JSON answer; an {@link IOException} unless it is a 200. */
  JsonNode post(URI uri, String body) throws IOException, InterruptedException {
    HttpResponse<byte[]> response = client.send(HttpRequest.newBuilder(uri).timeout(CALL_TIMEOUT)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    return parse(response);
  }

  private static JsonNode parse(HttpResponse<byte[]> response) throws IOException {
    if (response.statusCode() != 200) {
      throw new IOException("HTTP " + response.statusCode() + ": "
          + new String(response.body(), StandardCharsets.UTF_8));
    }
    return JSON.readTree(response.body());
  }
}
