package dev.sluice.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An upstream whose every byte the test chooses and which keeps every request it receives: a raw socket server
 * that reads a request (head and {@code Content-Length} body), records it, and answers with the next scripted
 * answer, its body sent as HTTP/1.1 chunks cut where the test says (Sluice's client reads each chunk as a chunk
 * of content, however the bytes travel). Then it closes the connection.
 */
final class RecordingUpstream implements AutoCloseable {
  private final ServerSocket server;
  private final BlockingQueue<Answer> answers = new LinkedBlockingQueue<>();
  private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();

  /**
   * One answer.
   *
   * @param status status line after the version, {@code 200 OK}
   * @param headers header lines, each ending CRLF (no framing headers: the body goes chunked)
   * @param pieces the body, one HTTP chunk each
   * @param complete whether the body ends properly; false closes the connection after the pieces, mid-body
   */
  record Answer(String status, String headers, List<byte[]> pieces, boolean complete) {}

  /** A request as it arrived: its head (request line and headers) and body. */
  record Received(String head, byte[] body) {
    String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  RecordingUpstream() throws IOException {
    server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(this::serve);
  }

  /** Answers the next request with {@code answer}. */
  RecordingUpstream then(Answer answer) {
    answers.add(answer);
    return this;
  }

  /** Answers the next request with a whole body of this status and content type. */
  RecordingUpstream then(String status, String contentType, String body) {
    return then(new Answer(status, "Content-Type: " + contentType + "\r\n",
        List.of(body.getBytes(StandardCharsets.UTF_8)), true));
  }

  /** The next request that arrived, waiting for it. */
  Received next() throws InterruptedException {
    Received request = received.poll(20, TimeUnit.SECONDS);
    if (request == null) {
      throw new AssertionError("no request reached the upstream within 20 s");
    }
    return request;
  }

  /** {@code http://127.0.0.1:port/v1}. */
  String baseUrl() {
    return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket socket = server.accept()) {
        socket.setTcpNoDelay(true);
        InputStream in = socket.getInputStream();
        String head = readHead(in);
        byte[] body = in.readNBytes(contentLength(head));
        received.add(new Received(head, body));
        Answer answer = answers.poll(20, TimeUnit.SECONDS);
        if (answer == null) {
          continue;
        }
        OutputStream out = socket.getOutputStream();
        out.write(("HTTP/1.1 " + answer.status() + "\r\n" + answer.headers()
            + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        for (byte[] piece : answer.pieces()) {
          if (piece.length == 0) {
            continue; // an empty chunk would end the body
          }
          out.write((Integer.toHexString(piece.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
          out.write(piece);
          out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
        }
        if (answer.complete()) {
          out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
          out.flush();
          socket.shutdownOutput();
          in.transferTo(OutputStream.nullOutputStream());
        }
      } catch (IOException | InterruptedException e) {
        // the server closed, or the peer went away
      }
    }
  }

  private static String readHead(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    for (int b = in.read(); b >= 0; b = in.read()) {
      head.write(b);
      matched = b == end[matched] ? matched + 1 : b == '\r' ? 1 : 0;
      if (matched == end.length) {
        break;
      }
    }
    return head.toString(StandardCharsets.US_ASCII);
  }

  private static int contentLength(String head) {
    for (String line : head.split("\r\n")) {
      if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
        return Integer.parseInt(line.substring(line.indexOf(':') + 1).strip());
      }
    }
    return 0;
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
