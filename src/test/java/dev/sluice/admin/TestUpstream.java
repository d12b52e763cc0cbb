package dev.sluice.admin;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;

/**
 * A small upstream on an ephemeral loopback port: it answers every request with one status at once, or holds every
 * request, without a thread, until the test releases them with a 200 chat completion. Counts what it received.
 */
final class TestUpstream implements AutoCloseable {
  private static final String COMPLETION = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
      + "\"message\":{\"role\":\"assistant\",\"content\":\"hello\"},\"finish_reason\":\"stop\"}]}";
  private final Server server = new Server();
  private final ServerConnector connector = new ServerConnector(server);
  private final AtomicInteger received = new AtomicInteger();
  private final List<Runnable> held = new ArrayList<>();

  /** @param status the status of every answer; 0 holds every request until {@link #release()} */
  private TestUpstream(int status) throws Exception {
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        received.incrementAndGet();
        if (status == 0) {
          synchronized (held) {
            held.add(() -> answer(response, callback, 200, COMPLETION));
          }
        } else {
          answer(response, callback, status, "{\"error\":{\"message\":\"Incorrect API key provided.\","
              + "\"type\":\"invalid_request_error\",\"code\":\"e" + status + "\"}}");
        }
        return true;
      }
    });
    server.start();
  }

  /** Answers every request with {@code status} and an OpenAI-shaped error body. */
  static TestUpstream answering(int status) throws Exception {
    return new TestUpstream(status);
  }

  /** Holds every request until {@link #release()}. */
  static TestUpstream holding() throws Exception {
    return new TestUpstream(0);
  }

  private static void answer(Response response, Callback callback, int status, String body) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
  }

  String baseUrl() {
    return "http://127.0.0.1:" + connector.getLocalPort() + "/v1";
  }

  int received() {
    return received.get();
  }

  /** Answers every request held so far with 200. */
  void release() {
    List<Runnable> answers;
    synchronized (held) {
      answers = List.copyOf(held);
      held.clear();
    }
    answers.forEach(Runnable::run);
  }

  @Override
  public void close() throws Exception {
    release();
    server.stop();
  }
}
