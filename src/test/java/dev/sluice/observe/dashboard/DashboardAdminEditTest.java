package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.cli.Sluice;
import dev.sluice.cli.Wiring;
import dev.sluice.config.ConfigLoader;
import dev.sluice.time.Clock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/** Editing a backend's rate on the page, in real headless Chromium, through Sluice's own admin API. */
class DashboardAdminEditTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "dashboard-test-token";
  private static final String RATE = "[data-setting='nvidia.nvidia-default.rate_rpm']";
  @TempDir
  Path temp;
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
  }

  @Test
  void aRateEditedWithTheTokenIsAppliedAndAnInvalidOneIsShownAtItsField() throws Exception {
    sluice = Wiring.build(new ConfigLoader(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", "0", "SIDECAR_DB_PATH", ":memory:",
        "SIDECAR_UPSTREAM", "http://127.0.0.1:1/v1",
        "SIDECAR_ADMIN_TOKEN", TOKEN)).load(), Clock.system()).start();
    browser = Chromium.start(temp.resolve("profile"));
    browser.get("http://127.0.0.1:" + sluice.port() + "/");
    browser.findElement(By.cssSelector("#settings summary")).click();
    browser.findElement(By.id("token")).sendKeys(TOKEN);
    browser.findElement(By.id("load-settings")).click();
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    WebElement rate = wait.until(d -> d.findElement(By.cssSelector(RATE)));
    assertThat(rate.getAttribute("value")).isEqualTo("40");

    rate.clear();
    rate.sendKeys("0");
    browser.findElement(By.id("apply-settings")).click();
    WebElement error = rate.findElement(By.xpath("following-sibling::span[@class='field-error']"));
    wait.until(d -> !error.getText().isEmpty());
    assertThat(error.getText()).contains("rate_rpm").contains("0");

    rate.clear();
    rate.sendKeys("30");
    browser.findElement(By.id("apply-settings")).click();
    wait.until(d -> d.findElement(By.id("settings-message")).getText().startsWith("applied"));
    assertThat(browser.findElement(By.cssSelector(RATE)).getAttribute("value")).isEqualTo("30");
    assertThat(sluice.pools().getFirst().primary().snapshot().rateRpm()).isEqualTo(30);
  }
}
