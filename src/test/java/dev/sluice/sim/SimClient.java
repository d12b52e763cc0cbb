package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A small HTTP/1.1 client for the sim's tests: real sockets, JSON helpers. Connecting and waiting for an answer's
 * headers are bounded generously, so a busy machine is slow but not failing.
 */
final class SimClient implements AutoCloseable {
  static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(TIMEOUT).build();
  private final String root;

  SimClient(SimServer server) {
    this.root = "http://127.0.0.1:" + server.port();
  }

  HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(root + path)).timeout(TIMEOUT);
  }

  HttpResponse<String> post(String path, String json, String... headers) {
    HttpRequest.Builder builder = request(path).POST(HttpRequest.BodyPublishers.ofString(json))
        .header("Content-Type", "application/json");
    if (headers.length > 0) {
      builder.headers(headers);
    }
    return send(builder.build());
  }

  CompletableFuture<HttpResponse<String>> postAsync(String path, String json, String... headers) {
    HttpRequest.Builder builder = request(path).POST(HttpRequest.BodyPublishers.ofString(json))
        .header("Content-Type", "application/json");
    if (headers.length > 0) {
      builder.headers(headers);
    }
    return http.sendAsync(builder.build(), HttpResponse.BodyHandlers.ofString());
  }

  HttpResponse<String> get(String path) {
    return send(request(path).GET().build());
  }

  HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  HttpResponse<java.util.stream.Stream<String>> sendLines(HttpRequest request)
      throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.ofLines());
  }

  HttpResponse<java.io.InputStream> sendStream(HttpRequest request) throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.ofInputStream());
  }

  HttpResponse<byte[]> sendBytes(HttpRequest request) throws IOException, InterruptedException {
    return http.send(request, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A minimal chat request for {@code model}. */
  static String chat(String model) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello there, sim!\"}]}";
  }

  /** The exact body of an OpenAI-shaped error from the sim, {@code {"error":{"message","type","code"}}}. */
  static String errorBody(String message, String type, String code) {
    ObjectNode root = MAPPER.createObjectNode();
    root.putObject("error").put("message", message).put("type", type).put("code", code);
    try {
      return MAPPER.writeValueAsString(root);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(HttpResponse<String> response) {
    try {
      return MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() {
    http.close();
  }
}
