package dev.sluice.proxy;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** HTTP over a plain socket, for requests that no HTTP client would send and answers it would hide. */
final class RawHttp {
  private static final byte[] END_OF_HEAD = {'\r', '\n', '\r', '\n'};

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

  /**
   * Sends {@code request} on a new connection to {@code port} and reads one answer: its {@code Content-Length}
   * bytes of body (none for HEAD), or all until the server closes when it gives no length.
   */
  static Reply exchange(int port, String request) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = new BufferedInputStream(socket.getInputStream());
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      for (int matched = 0; matched < END_OF_HEAD.length; ) {
        int b = in.read();
        if (b < 0) {
          throw new AssertionError("the connection closed after " + head.toString(StandardCharsets.UTF_8));
        }
        head.write(b);
        matched = b == END_OF_HEAD[matched] ? matched + 1 : b == '\r' ? 1 : 0;
      }
      String headText = head.toString(StandardCharsets.ISO_8859_1);
      Reply headOnly = new Reply(headText.substring(0, headText.length() - 4), "");
      if (!headText.startsWith("HTTP/1.1 ")) {
        throw new AssertionError("not an HTTP/1.1 answer: " + headText);
      }
      Optional<String> length = headOnly.header("Content-Length");
      byte[] body = request.startsWith("HEAD ") ? new byte[0]
          : length.isPresent() ? in.readNBytes(Integer.parseInt(length.get())) : in.readAllBytes();
      return new Reply(headOnly.head(), new String(body, StandardCharsets.UTF_8));
    }
  }
}
