package dev.sluice.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * An upstream whose every byte the test chooses: a raw socket server that answers each request with the same
 * canned HTTP/1.1 response, then closes the connection.
 */
final class CannedUpstream implements AutoCloseable {
  private final ServerSocket server;
  private final java.util.concurrent.atomic.AtomicInteger requests = new java.util.concurrent.atomic.AtomicInteger();

  CannedUpstream(byte[] response) throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try (Socket socket = server.accept()) {
          readRequestHead(socket.getInputStream());
          requests.incrementAndGet();
          OutputStream out = socket.getOutputStream();
          out.write(response);
          out.flush();
          socket.shutdownOutput();
          socket.getInputStream().transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
          // the server closed, or the peer went away
        }
      }
    });
  }

  /** The bytes of a response with this status line ({@code 200 OK}), header lines (each ending CRLF) and body. */
  static byte[] response(String status, String headers, byte[] body) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("HTTP/1.1 " + status + "\r\n" + headers + "\r\n").getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(body);
    return out.toByteArray();
  }

  int port() {
    return server.getLocalPort();
  }

  /** {@code http://127.0.0.1:port/v1}. */
  String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** Requests answered so far. */
  int requests() {
    return requests.get();
  }

  /** Reads up to the blank line that ends the request head; a body is left to be drained after the answer. */
  private static void readRequestHead(InputStream in) throws IOException {
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    for (int b = in.read(); b >= 0; b = in.read()) {
      matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
      if (matched == end.length) {
        return;
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
