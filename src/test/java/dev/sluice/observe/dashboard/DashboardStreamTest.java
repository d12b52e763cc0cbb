package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.sluice.time.ManualClock;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stream over real sockets, with ticks driven by hand: its frame format, one snapshot built per tick however many
 * clients watch, the same bytes for all of them, nothing built while nobody watches, and departed clients dropped.
 */
class DashboardStreamTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  /** Put in a client's queue when its stream ended normally, after its last line. */
  private static final String END = "<end of stream>";
  /** Put in a client's queue when its stream broke off. */
  private static final String BROKEN = "<stream broken>";
  private final ManualClock clock = new ManualClock();
  private final TickScheduler scheduler = new TickScheduler(clock);
  private final FakePool pool = new FakePool("nvidia", 1);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private final List<Stream<String>> open = new CopyOnWriteArrayList<>();
  private Server server;
  private DashboardHandler dashboard;
  private int port;

  @BeforeEach
  void start() throws Exception {
    dashboard = new DashboardHandler(clock, scheduler, List.of(pool), new Traffic(), new EventLog(clock),
        (request, response) -> { });
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    server.setHandler(dashboard);
    server.start();
    port = connector.getLocalPort();
  }

  @AfterEach
  void stop() throws Exception {
    open.forEach(Stream::close);
    http.close();
    server.stop();
  }

  @Test
  void firstFrameIsRetryThenDataFramesOfJson() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout((int) WAIT.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write("GET /api/dashboard/stream HTTP/1.0\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = socket.getInputStream();
      String head = readUntil(in, "\r\n\r\n");
      assertThat(head).startsWith("HTTP/1.1 200").containsIgnoringCase("Content-Type: text/event-stream")
          .containsIgnoringCase("Cache-Control: no-store");
      assertThat(readUntil(in, "\n\n")).isEqualTo("retry: 3000\n\n");
      await().atMost(WAIT).until(() -> scheduler.pending() == 1);
      awaitWritesDone();

      tick();
      String frame = readUntil(in, "\n\n");
      assertThat(frame).startsWith("data: {\"point\":{\"t\":").endsWith("}\n\n");
      assertThat(frame.substring(0, frame.length() - 2).lines()).hasSize(1);
      assertThat(frame).contains("\"state\":{").contains("\"name\":\"nvidia\"")
          .as("the first frame has the fields' labels").contains("\"fields\":[{\"name\":\"tokens\"");

      awaitWritesDone();
      tick();
      String next = readUntil(in, "\n\n");
      assertThat(next).startsWith("data: {\"point\":{\"t\":").contains("\"fields\":{\"tokens\":[12,40]")
          .as("labels again only when they change").doesNotContain("\"fields\":[").doesNotContain("tokens available");
    }
  }

  @Test
  void hundredClientsShareOneBuildPerTick() throws Exception {
    int clients = 100;
    List<BlockingQueue<String>> lines = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      lines.add(subscribe());
    }
    for (BlockingQueue<String> client : lines) {
      assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("retry: 3000");
      assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
    }
    await().atMost(WAIT).until(() -> dashboard.streams() == clients);
    long buildsBefore = dashboard.builds();
    assertThat(buildsBefore).isZero();

    int ticks = 5;
    List<List<String>> received = new ArrayList<>();
    lines.forEach(l -> received.add(new ArrayList<>()));
    for (int t = 0; t < ticks; t++) {
      // A client reads a frame a moment before the server learns that its write completed; tick after that.
      awaitWritesDone();
      tick();
      for (int c = 0; c < clients; c++) {
        String data = lines.get(c).poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(data).as("client %d, tick %d", c, t).startsWith("data: ");
        assertThat(lines.get(c).poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
        received.get(c).add(data);
      }
    }

    assertThat(dashboard.builds()).isEqualTo(ticks);
    assertThat(pool.reads()).isEqualTo(ticks);
    assertThat(received).allSatisfy(frames -> assertThat(frames).isEqualTo(received.getFirst()));
    assertThat(received.getFirst()).doesNotHaveDuplicates();
  }

  @Test
  void nothingIsBuiltOrScheduledWhileNobodyWatches() throws Exception {
    BlockingQueue<String> client = subscribe();
    assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("retry: 3000");
    await().atMost(WAIT).until(() -> scheduler.pending() == 1);
    tick();
    assertThat(dashboard.builds()).isEqualTo(1);

    open.forEach(Stream::close);
    // A write to a closed connection fails within a tick or two; then the client is dropped and ticks stop.
    await().atMost(WAIT).until(() -> {
      tick();
      return dashboard.streams() == 0;
    });
    tick();
    assertThat(scheduler.pending()).isZero();
    long builds = dashboard.builds();
    clock.advance(Duration.ofSeconds(30));
    scheduler.runDue();
    assertThat(dashboard.builds()).isEqualTo(builds);
  }

  @Test
  void snapshotRequestBuildsOnceWhenNoStreamKeepsItFreshAndCarriesHistory() throws Exception {
    HttpResponse<String> first = get("/api/dashboard");
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(first.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(first.body()).startsWith("{\"history\":[{\"t\":").contains("\"state\":{").contains("\"events\":[")
        .contains("\"fields\":[{\"name\":\"tokens\",\"label\":\"tokens available\"}");
    assertThat(dashboard.builds()).isEqualTo(1);
    get("/api/dashboard");
    assertThat(dashboard.builds()).as("a snapshot under a second old is reused").isEqualTo(1);
    clock.advance(Duration.ofSeconds(2));
    String third = get("/api/dashboard").body();
    assertThat(dashboard.builds()).isEqualTo(2);
    assertThat(third.split("\\{\"t\":", -1)).hasSize(4); // two history points, and the state's own "t"
    assertThat(scheduler.pending()).as("no ticks without a stream").isZero();
  }

  @Test
  void otherMethodsGet405WithAllowAndUnknownDashboardPathsGet404() throws Exception {
    HttpResponse<String> post = http.send(HttpRequest.newBuilder(uri("/api/dashboard/stream"))
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
    assertThat(post.body()).isEqualTo("{\"error\":{\"message\":\"Use GET for /api/dashboard/stream.\","
        + "\"type\":\"invalid_request_error\",\"code\":\"method_not_allowed\"}}");
    HttpResponse<String> unknown = get("/api/dashboard/nope");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(unknown.body()).contains("\"code\":\"not_found\"");
  }

  @Test
  void pageIsOneSelfContainedAnswerWithEtagAndHead() throws Exception {
    HttpResponse<String> page = get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type")).hasValue("text/html; charset=utf-8");
    assertThat(page.body()).contains("uPlot").contains("EventSource").doesNotContain("/*uplot.js*/")
        .doesNotContain("src=\"http").doesNotContain("href=\"http").doesNotContain("src=\"/");
    String etag = page.headers().firstValue("ETag").orElseThrow();
    assertThat(get("/dashboard").body()).isEqualTo(page.body());

    HttpResponse<String> revalidated = http.send(HttpRequest.newBuilder(uri("/")).header("If-None-Match", etag)
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(revalidated.statusCode()).isEqualTo(304);
    HttpResponse<String> head = http.send(HttpRequest.newBuilder(uri("/dashboard"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(head.statusCode()).isEqualTo(200);
    assertThat(head.body()).isEmpty();
    assertThat(head.headers().firstValueAsLong("Content-Length"))
        .hasValue(page.body().getBytes(StandardCharsets.UTF_8).length);
  }

  @Test
  void shutdownEndsOpenStreams() throws Exception {
    BlockingQueue<String> client = subscribe();
    assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEqualTo("retry: 3000");
    assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).isEmpty();
    // Long enough that a stream left open would hold the stop for the rest of the test's patience.
    server.setStopTimeout(WAIT.multipliedBy(3).toMillis());

    server.stop();

    assertThat(client.poll(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the stream ended, not cut").isEqualTo(END);
  }

  private void awaitWritesDone() {
    await().atMost(WAIT).until(() -> dashboard.writesPending() == 0);
  }

  private void tick() {
    clock.advance(Duration.ofSeconds(1));
    scheduler.runDue();
  }

  /**
   * Opens a stream; its lines arrive in the queue (an empty string for each blank line), then {@link #END} or
   * {@link #BROKEN}.
   */
  private BlockingQueue<String> subscribe() {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    http.sendAsync(HttpRequest.newBuilder(uri("/api/dashboard/stream")).GET().build(),
        HttpResponse.BodyHandlers.ofLines()).thenAccept(response -> {
          open.add(response.body());
          Thread.startVirtualThread(() -> {
            try {
              response.body().forEach(lines::add);
              lines.add(END);
            } catch (RuntimeException closed) {
              lines.add(BROKEN); // or the test closed the stream
            }
          });
        });
    return lines;
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(path)).timeout(WAIT).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private static String readUntil(InputStream in, String end) throws Exception {
    StringBuilder text = new StringBuilder();
    while (!text.toString().endsWith(end)) {
      int b = in.read();
      if (b < 0) {
        throw new AssertionError("stream ended after: " + text);
      }
      text.append((char) b);
    }
    return text.toString();
  }
}
