package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin handler alone on a small Jetty server, with routes that show where and how their actions run. */
class AdminHandlerTest {
  private final QueuedThreadPool threads = new QueuedThreadPool(8, 2);
  private final Server server = new Server(threads);
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @AfterEach
  void stop() throws Exception {
    http.close();
    server.stop();
  }

  private int start(List<AdminRoute> routes) throws Exception {
    ServerConnector connector = new ServerConnector(server, 1, 1);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    server.addConnector(connector);
    server.setHandler(new AdminHandler(Optional.empty(), routes, (request, response) -> { }));
    server.start();
    return connector.getLocalPort();
  }

  private CompletableFuture<HttpResponse<String>> post(int port, String path) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(20)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anActionRunsOnAVirtualThread() throws Exception {
    int port = start(List.of(AdminRoute.post("/api/admin/where",
        request -> AdminResponse.ok(Map.of("virtual", Thread.currentThread().isVirtual())))));

    HttpResponse<String> answer = post(port, "/api/admin/where").get(20, TimeUnit.SECONDS);

    assertThat(answer.statusCode()).isEqualTo(200);
    assertThat(answer.body()).isEqualTo("{\"virtual\":true}");
  }

  @Test
  void actionsWaitingOnALockHoldNoJettyThread() throws Exception {
    Object monitor = new Object();
    CountDownLatch release = new CountDownLatch(1);
    int waiting = 12; // more than the server's whole thread pool
    CountDownLatch entered = new CountDownLatch(1);
    int port = start(List.of(
        AdminRoute.post("/api/admin/change", request -> {
          synchronized (monitor) {
            entered.countDown();
            try {
              release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            return AdminResponse.ok(Map.of());
          }
        }),
        AdminRoute.get("/api/admin/read", request -> AdminResponse.ok(Map.of("ok", true)))));

    List<CompletableFuture<HttpResponse<String>>> changes = new java.util.ArrayList<>();
    for (int i = 0; i < waiting; i++) {
      changes.add(post(port, "/api/admin/change"));
    }
    assertThat(entered.await(20, TimeUnit.SECONDS)).isTrue();
    HttpResponse<String> read = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
        + "/api/admin/read")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    release.countDown();

    assertThat(read.statusCode()).isEqualTo(200);
    for (CompletableFuture<HttpResponse<String>> change : changes) {
      assertThat(change.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
  }
}
