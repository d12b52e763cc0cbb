package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The backend cards in real headless Chromium: the service badge shows a cooldown, the events show it, and with the
 * admin token loaded the card's buttons end the cooldown and disable and enable the backend through the admin API.
 */
class DashboardBackendActionsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "dashboard-actions-token";

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
  void withTheTokenLoadedTheCardsEndACooldownAndDisableAndEnableABackend() throws Exception {
    sim = SimServer.start(SimConfig.defaults(), Clock.system(), "127.0.0.1", 0);
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:",
        "SIDECAR_ADMIN_TOKEN", TOKEN)).loadYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: b1, base_url: "http://127.0.0.1:%d/v1", cooldown: {base_seconds: 600, max_seconds: 600}}
              - {id: b2, base_url: "%s"}
        """.formatted(closed, sim.baseUrl()), temp), Clock.system()).start();
    // The connection to b1 is refused: it cools for 600 s, and b2 answers.
    assertThat(chat()).isEqualTo(200);

    browser = Chromium.start(temp.resolve("profile"));
    browser.get("http://127.0.0.1:" + sluice.port() + "/");
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    wait.until(d -> service(d, "b1").startsWith("cooling "));
    assertThat(card(browser, "b1").findElement(By.cssSelector("[data-field='concurrency']")).getText())
        .isEqualTo("in flight / limit\n0 / 8 (fixed)");
    assertThat(card(browser, "b1").findElement(By.cssSelector("[data-field='consecutive_failures']")).getText())
        .endsWith("1");
    assertThat(card(browser, "b1").findElement(By.cssSelector(".actions")).isDisplayed())
        .as("no actions before the token is loaded").isFalse();
    wait.until(d -> events(d).contains("backend b1: upstream connect failure: cooling 600 s"));

    browser.findElement(By.cssSelector("#settings summary")).click();
    browser.findElement(By.id("token")).sendKeys(TOKEN);
    browser.findElement(By.id("load-settings")).click();
    WebElement endCooldown = wait.until(d -> {
      WebElement button = card(d, "b1").findElement(By.cssSelector(".end-cooldown"));
      return button.isDisplayed() ? button : null;
    });
    endCooldown.click();
    wait.until(d -> service(d, "b1").equals("active"));
    assertThat(card(browser, "b1").findElement(By.cssSelector(".end-cooldown")).isDisplayed()).isFalse();
    wait.until(d -> events(d).contains("backend b1 cooldown ended early by an operator"));

    WebElement toggle = card(browser, "b2").findElement(By.cssSelector(".toggle"));
    assertThat(toggle.getText()).isEqualTo("Disable");
    toggle.click();
    wait.until(d -> service(d, "b2").equals("disabled"));
    assertThat(sluice.pools().getFirst().backends().get(1).outOfService()).isPresent();
    wait.until(d -> card(d, "b2").findElement(By.cssSelector(".toggle")).getText().equals("Enable"));
    card(browser, "b2").findElement(By.cssSelector(".toggle")).click();
    wait.until(d -> service(d, "b2").equals("active"));
    wait.until(d -> events(d).contains("backend b2 back in service: enabled by an operator"));
    assertThat(events(browser)).contains("backend b2 disabled by an operator");
  }

  private int chat() throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sluice.port()
            + "/v1/chat/completions")).timeout(WAIT).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"model\":\"nvidia/llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
        HttpResponse.BodyHandlers.discarding()).statusCode();
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
