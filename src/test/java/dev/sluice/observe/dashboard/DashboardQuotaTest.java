package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The quota bar in real headless Chromium: a backend whose token budget is spent shows its usage against the
 * budget with the threshold marked, the QUOTA_EXCEEDED badge and the time to its next probe; with the admin token
 * loaded its "Reset quota" button puts it back in service, and the request that waited for it is served.
 */
class DashboardQuotaTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "dashboard-quota-token";

  @TempDir
  Path temp;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(WAIT).build();
  private SimServer sim;
  private Sluice sluice;
  private ChromeDriver browser;

  @AfterEach
  void stop() throws Exception {
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
  void anExceededBackendShowsItsQuotaBarAndTheResetButtonPutsItBackInService() throws Exception {
    sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
    sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:",
        "SIDECAR_ADMIN_TOKEN", TOKEN)).loadYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - id: b1
                base_url: "%s"
                tpm: 100000
                quota: {budget_tokens: 1000, window_hours: 5, threshold_percent: 90, probe_interval_seconds: 3600}
          - name: solo
            aliases: [solo]
            backends: [{id: b2, base_url: "%1$s"}]
        """.formatted(sim.baseUrl()), temp), Clock.system()).start();
    // An answer that used the whole budget, released as the forwarder releases each answer with its usage; then a
    // request that finds the budget spent, trips the guard and waits for b1.
    Backend b1 = sluice.pools().getFirst().backends().getFirst();
    Backend.Grant grant = b1.tryAcquire(Clock.system().nanoTime());
    ((Backend.Granted) grant).permit().release(new Attempt(200, 0).withUsage(1_000, false));
    CompletableFuture<HttpResponse<Void>> waiting = chat();

    browser = Chromium.start(temp.resolve("profile"));
    browser.get("http://127.0.0.1:" + sluice.port() + "/");
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    wait.until(d -> service(d, "b1").equals("quota exceeded"));
    WebElement quota = card(browser, "b1").findElement(By.cssSelector(".quota"));
    assertThat(quota.isDisplayed()).isTrue();
    assertThat(quota.findElement(By.cssSelector(".label")).getText()).isEqualTo("quota (5 h)");
    assertThat(quota.findElement(By.cssSelector(".text")).getText()).isEqualTo("1,000 / 1,000");
    assertThat(quota.findElement(By.cssSelector(".usage")).getText()).isEqualTo("100.0 % used, trips at 90 %");
    assertThat(quota.findElement(By.cssSelector(".mark")).getAttribute("style")).as("the threshold mark")
        .contains("left: 90%");
    assertThat(quota.findElement(By.cssSelector(".quota-state")).getText()).isEqualTo("QUOTA_EXCEEDED");
    assertThat(quota.findElement(By.cssSelector(".next-probe")).getText())
        .matches("next probe in (1 h 0 m|59 m \\d+ s)");
    assertThat(card(browser, "b1").findElement(By.cssSelector("[data-field='tpm']")).getText())
        .matches("tokens per minute\n\\d+ / 100000");
    assertThat(card(browser, "b2").findElement(By.cssSelector(".quota")).isDisplayed())
        .as("no bar for a backend without a budget").isFalse();
    assertThat(card(browser, "b1").findElement(By.cssSelector(".actions")).isDisplayed())
        .as("no actions before the token is loaded").isFalse();
    wait.until(d -> events(d).contains("backend b1 quota exceeded: 1000 tokens in the last 5 h"));
    assertThat(waiting).isNotDone();

    browser.findElement(By.cssSelector("#settings summary")).click();
    browser.findElement(By.id("token")).sendKeys(TOKEN);
    browser.findElement(By.id("load-settings")).click();
    WebElement reset = wait.until(d -> {
      WebElement button = card(d, "b1").findElement(By.cssSelector(".reset-quota"));
      return button.isDisplayed() ? button : null;
    });
    assertThat(card(browser, "b2").findElement(By.cssSelector(".reset-quota")).isDisplayed()).isFalse();
    reset.click();

    assertThat(waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    wait.until(d -> service(d, "b1").equals("active"));
    wait.until(d -> events(d).contains("backend b1 within quota again: reset by an operator"));
    assertThat(card(browser, "b1").findElement(By.cssSelector(".quota-state")).isDisplayed()).isFalse();
    assertThat(card(browser, "b1").findElement(By.cssSelector(".quota .text")).getText()).matches("\\d+ / 1,000");
    assertThat(card(browser, "b1").findElement(By.cssSelector(".actions .message")).getText()).isEqualTo("done");
  }

  private CompletableFuture<HttpResponse<Void>> chat() {
    return http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.port()
            + "/v1/chat/completions")).timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
        HttpResponse.BodyHandlers.discarding());
  }

  private static WebElement card(WebDriver browser, String backend) {
    return browser.findElement(By.cssSelector(".backend[data-backend='" + backend + "']"));
  }

  private static String service(WebDriver browser, String backend) {
    return card(browser, backend).findElement(By.cssSelector(".service")).getText();
  }

  private static String events(WebDriver browser) {
    return browser.findElement(By.id("events")).getText();
  }
}
