package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in real headless Chromium against Sluice and the simulated provider in-process: numbers move under
 * traffic, the page greys out behind the mask when Sluice stops, and comes back by itself when Sluice is started
 * again on the same port.
 */
class DashboardBrowserTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** Between attempts to reach a Sluice that is down. */
  private static final Duration RETRY_PAUSE = Duration.ofMillis(50);
  private static final String DISPATCHED = "section.pool[data-pool='nvidia'] [data-stat='total-dispatched']";

  @TempDir
  Path temp;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private final AtomicBoolean loading = new AtomicBoolean(true);
  private SimServer sim;
  private Sluice sluice;
  private ChromeDriver browser;
  private Thread load;

  @AfterEach
  void stop() throws Exception {
    loading.set(false);
    if (load != null) {
      load.join(WAIT);
    }
    if (browser != null) {
      browser.quit();
    }
    if (sluice != null) {
      sluice.close(Duration.ZERO);
    }
    if (sim != null) {
      sim.close();
    }
    http.close();
  }

  @Test
  void numbersMoveUnderTrafficAndTheMaskComesAndGoesWithSluice() throws Exception {
    sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
    sluice = startSluice(0);
    int port = sluice.port();
    browser = Chromium.start(temp.resolve("profile"));
    browser.get("http://127.0.0.1:" + port + "/");
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    wait.until(d -> d.findElement(By.id("live")).getText().equals("live"));
    assertThat(browser.findElement(By.id("mask")).isDisplayed()).isFalse();

    load = Thread.startVirtualThread(() -> sendUntilStopped(port));
    long first = waitForDispatchedAbove(wait, 0);
    waitForDispatchedAbove(wait, first);
    assertThat(browser.findElements(By.cssSelector("section.pool[data-pool='nvidia'] > .charts .uplot"))).hasSize(3);
    assertThat(browser.findElements(By.cssSelector(".backend[data-backend='nvidia-default'] [data-field='tokens']")))
        .hasSize(1);
    // Labels come with the first load only; the stream's frames carry the values.
    assertThat(browser.findElement(By.cssSelector(".backend[data-backend='nvidia-default'] [data-field='tokens']"))
        .getText()).startsWith("tokens available").contains(" / 20");

    sluice.close(Duration.ZERO);
    sluice = null;
    new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.id("mask")).isDisplayed());
    assertThat(browser.findElement(By.id("mask")).getText()).isEqualTo("Reconnecting…");

    sluice = startSluice(port);
    new WebDriverWait(browser, WAIT).until(d -> !d.findElement(By.id("mask")).isDisplayed());
    // The new instance counts from zero, and the page shows its numbers moving again.
    waitForDispatchedAbove(wait, 0);
  }

  private Sluice startSluice(int port) throws Exception {
    return Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", Integer.toString(port), "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:",
        "SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_RATE_RPM", "600", "SIDECAR_BUCKET_CAPACITY", "20")).load(),
        Clock.system()).start();
  }

  private static long waitForDispatchedAbove(WebDriverWait wait, long than) {
    return wait.until(d -> {
      long value = dispatched(d);
      return value > than ? value : null;
    });
  }

  private static long dispatched(WebDriver browser) {
    String text = browser.findElement(By.cssSelector(DISPATCHED)).getText().strip();
    return text.isEmpty() ? -1 : Long.parseLong(text);
  }

  /** A steady trickle of requests, stopped by the test (each one bounded by its own timeout). */
  private void sendUntilStopped(int port) {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (loading.get() && System.nanoTime() < deadline) {
      try {
        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(), HttpResponse.BodyHandlers.discarding());
      } catch (Exception sluiceDown) {
        // Sluice is stopped for part of the test; keep trying until it is back, without taking a core from the
        // browser meanwhile.
        LockSupport.parkNanos(RETRY_PAUSE.toNanos());
      }
    }
  }
}
