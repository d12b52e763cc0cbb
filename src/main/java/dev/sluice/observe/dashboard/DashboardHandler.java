package dev.sluice.observe.dashboard;

import dev.sluice.http.OpenAiError;
import dev.sluice.schedule.PoolView;
import dev.sluice.schedule.Scheduler;
import dev.sluice.time.Clock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;

/**
 * The live dashboard: {@code GET /} and {@code GET /dashboard} serve the page (one answer, every asset inlined,
 * with an {@code ETag}); {@code GET /api/dashboard} answers the latest snapshot with up to 300 seconds of chart
 * history; {@code GET /api/dashboard/stream} is Server-Sent Events: {@code retry: 3000}, then one {@code data:}
 * frame a second, the same bytes for every client (see {@link Feed}). Other methods get 405 with {@code Allow};
 * other paths under {@code /api/dashboard} get 404; every other path, and {@code CONNECT} and {@code TRACE}, are left
 * to the next handler.
 *
 * <p>Thread-safe. At shutdown ({@link Graceful}) every open stream is ended, so that stopping Sluice does not wait
 * for watchers.
 */
public final class DashboardHandler extends Handler.Abstract.NonBlocking implements Graceful {
  static final String RETRY_FRAME = "retry: 3000\n\n";
  private static final HttpField EVENT_STREAM = new HttpField(HttpHeader.CONTENT_TYPE, "text/event-stream");
  private static final HttpField NO_STORE = new HttpField(HttpHeader.CACHE_CONTROL, "no-store");

  private final Page page = Page.load();
  private final Feed feed;
  private final BiConsumer<Request, Response> nameResponse;
  private volatile boolean shutdown;

  /**
   * @param scheduler runs the once-a-second snapshot task while a stream client watches; the dashboard's own, so
   *     that building a snapshot never delays the dispatchers' wakeups
   * @param pools the pools shown, in this order
   * @param traffic per-second counts, fed with every outcome
   * @param events retreat changes and coalesced rejections
   * @param nameResponse puts the request's id on its answer, as on every answer Sluice sends
   */
  public DashboardHandler(Clock clock, Scheduler scheduler, List<? extends PoolView> pools, Traffic traffic,
      EventLog events, BiConsumer<Request, Response> nameResponse) {
    this.feed = new Feed(clock, scheduler, new SnapshotBuilder(clock, pools, traffic, events));
    this.nameResponse = nameResponse;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String method = request.getMethod();
    if (method.equals("CONNECT") || method.equals("TRACE")) {
      return false; // refused the same way on every path, by the proxy
    }
    String path = request.getHttpURI().getPath();
    boolean page = path.equals("/") || path.equals("/dashboard");
    if (!page && !path.equals("/api/dashboard") && !path.startsWith("/api/dashboard/")) {
      return false;
    }
    nameResponse.accept(request, response);
    boolean head = method.equals("HEAD");
    if (!head && !method.equals("GET")) {
      response.getHeaders().put(HttpHeader.ALLOW, "GET, HEAD");
      error(response, callback, 405, "Use GET for " + path + ".", "method_not_allowed");
      return true;
    }
    if (page) {
      page(request, response, callback, head);
    } else if (path.equals("/api/dashboard")) {
      json(response, callback, feed.current(), head);
    } else if (path.equals("/api/dashboard/stream")) {
      stream(request, response, callback, head);
    } else {
      error(response, callback, 404, "No dashboard resource at " + path + ".", "not_found");
    }
    return true;
  }

  private void page(Request request, Response response, Callback callback, boolean head) {
    response.getHeaders().put(HttpHeader.ETAG, page.etag());
    // Revalidate each time: a new version of Sluice on the same address must not show an old page.
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    if (page.etag().equals(request.getHeaders().get(HttpHeader.IF_NONE_MATCH))) {
      response.setStatus(304);
      callback.succeeded();
      return;
    }
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/html; charset=utf-8");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, page.html().length);
    response.write(true, head ? null : ByteBuffer.wrap(page.html()), callback);
  }

  private void stream(Request request, Response response, Callback callback, boolean head) {
    response.setStatus(200);
    response.getHeaders().put(EVENT_STREAM);
    response.getHeaders().put(NO_STORE);
    if (head || shutdown) {
      response.write(true, null, callback);
      return;
    }
    StreamClient client = new StreamClient(response, callback, feed::leave);
    // Joined before anything can end it, so that its departure always finds it in the feed; ticks skip it until its
    // first frame is written.
    feed.join(client);
    request.addFailureListener(client::fail);
    client.start(ByteBuffer.wrap(RETRY_FRAME.getBytes(StandardCharsets.US_ASCII)));
  }

  private static void json(Response response, Callback callback, byte[] body, boolean head) {
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.getHeaders().put(NO_STORE);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, head ? null : ByteBuffer.wrap(body), callback);
  }

  private static void error(Response response, Callback callback, int status, String message, String code) {
    response.getHeaders().put(NO_STORE);
    new OpenAiError(status, "invalid_request_error", code, message).write(response, callback);
  }

  @Override
  public CompletableFuture<Void> shutdown() {
    shutdown = true;
    feed.stop();
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public boolean isShutdown() {
    return shutdown;
  }

  @Override
  protected void doStop() throws Exception {
    shutdown();
    super.doStop();
  }

  /** Snapshots built since start; one a second while anyone watches. */
  long builds() {
    return feed.builds();
  }

  /** Open stream clients. */
  int streams() {
    return feed.clients();
  }

  /** Stream clients whose previous frame is still on its way. */
  int writesPending() {
    return feed.writesPending();
  }
}
