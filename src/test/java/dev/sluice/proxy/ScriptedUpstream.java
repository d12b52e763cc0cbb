package dev.sluice.proxy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.FutureCallback;

/**
 * An upstream whose responses the test writes step by step: each request it receives waits, holding no thread,
 * until the test takes it with {@link #next()} and answers it a piece at a time. A test can so put the upstream's
 * and the caller's events in an order instead of timing them. Listens on an ephemeral loopback port.
 */
final class ScriptedUpstream implements AutoCloseable {
  /** How long a test waits for a request to arrive or a write to complete. */
  private static final long WAIT_SECONDS = 20;
  private final Server server = new Server();
  private final ServerConnector connector = new ServerConnector(server);
  private final BlockingQueue<Call> calls = new LinkedBlockingQueue<>();

  ScriptedUpstream() throws Exception {
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        calls.add(new Call(request.getHttpURI().getPathQuery(), response, callback));
        return true;
      }
    });
    server.start();
  }

  /** The base URL to configure as Sluice's upstream. */
  String baseUrl() {
    return "http://127.0.0.1:" + connector.getLocalPort() + "/v1";
  }

  /** The next request that arrived, waiting for it if none has. */
  Call next() throws InterruptedException {
    Call call = calls.poll(WAIT_SECONDS, TimeUnit.SECONDS);
    if (call == null) {
      throw new AssertionError("no request reached the upstream within " + WAIT_SECONDS + " s");
    }
    return call;
  }

  /** Requests that arrived and that the test has not taken yet. */
  int waiting() {
    return calls.size();
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }

  /** One request as the upstream received it, and its response, which the test writes. */
  static final class Call {
    final String pathQuery;
    private final Response response;
    private final Callback callback;

    private Call(String pathQuery, Response response, Callback callback) {
      this.pathQuery = pathQuery;
      this.response = response;
      this.callback = callback;
    }

    /** Sets the status and content type; they leave with the first write. */
    Call status(int status, String contentType) {
      response.setStatus(status);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
      return this;
    }

    /** Writes {@code text} as one chunk of the body and waits until it has left. */
    void write(String text) throws Exception {
      FutureCallback written = new FutureCallback();
      response.write(false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), written);
      written.get(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Writes {@code text} as the end of the body; the response is complete. */
    void end(String text) {
      response.write(true, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), callback);
    }

    /**
     * Whether the connection is gone: writes {@code chunk} until a write fails (the first write after the peer
     * closed may still be accepted by the kernel), at most {@code maxWrites} times.
     */
    boolean writeFails(String chunk, int maxWrites) throws Exception {
      for (int i = 0; i < maxWrites; i++) {
        try {
          write(chunk);
        } catch (ExecutionException failed) {
          callback.failed(failed.getCause());
          return true;
        }
      }
      return false;
    }
  }
}
