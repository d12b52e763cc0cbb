package dev.sluice.proxy;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HTTP over a plain socket, for requests that no HTTP client would send and answers it would hide. */
final class RawHttp {
  private RawHttp() {}

  /**
   * An answer as it came over the wire.
   *
   * @param head the status line and headers, without the blank line that ends them
   * @param body everything after that blank line
   */
  record Reply(String head, String body) {
    int status() {
      return Integer.parseInt(head.substring("HTTP/1.1 ".length(), "HTTP/1.1 ".length() + 3));
    }

    /** The first value of header {@code name} (case-insensitive), if present. */
    Optional<String> header(String name) {
      Matcher value = Pattern.compile("\r\n" + Pattern.quote(name) + ": ([^\r]*)", Pattern.CASE_INSENSITIVE)
          .matcher(head);
      return value.find() ? Optional.of(value.group(1)) : Optional.empty();
    }
  }

  /** Sends {@code request} on a new connection to {@code port} and reads one answer until the server closes. */
  static Reply exchange(int port, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int end = reply.indexOf("\r\n\r\n");
      if (!reply.startsWith("HTTP/1.1 ") || end < 0) {
        throw new AssertionError("not an HTTP/1.1 answer: " + reply);
      }
      return new Reply(reply.substring(0, end), reply.substring(end + 4));
    }
  }
}
