package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.time.ManualClock;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Editing settings on the page, in real headless Chromium, against a stand-in that answers as the admin API's
 * {@code /api/admin/config} contract says: the token goes in the {@code Authorization} header (and session storage,
 * never the URL), only changed settings are posted in the partial shape, and a validation error shows next to the
 * field its {@code param} names.
 */
class DashboardSettingsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String TOKEN = "s3cret-admin-token";
  private final ObjectMapper json = new ObjectMapper();
  private final List<String> posted = new CopyOnWriteArrayList<>();
  private final List<String> authorizations = new CopyOnWriteArrayList<>();
  @TempDir
  Path temp;
  private Server server;
  private ChromeDriver browser;
  private volatile int rateRpm = 40;

  @BeforeEach
  void start() throws Exception {
    ManualClock clock = new ManualClock();
    DashboardHandler dashboard = new DashboardHandler(clock, new TickScheduler(clock),
        List.of(new FakePool("nvidia", 1)), new Traffic(), new EventLog(clock), (request, response) -> { });
    server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    server.addConnector(connector);
    server.setHandler(new Handler.Sequence(new AdminStandIn(), dashboard));
    server.start();
    browser = Chromium.start(temp.resolve("profile"));
    browser.get("http://127.0.0.1:" + connector.getLocalPort() + "/dashboard");
  }

  @AfterEach
  void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    server.stop();
  }

  @Test
  void wrongTokenShowsTheRefusal() {
    openSettings("not-the-token");
    new WebDriverWait(browser, WAIT).until(d -> d.findElement(By.id("settings-message")).getText()
        .equals("Wrong admin token."));
    assertThat(browser.findElement(By.id("settings-form")).isDisplayed()).isFalse();
  }

  @Test
  void editingARatePostsOnlyThatChangeAndShowsValidationErrorsAtTheField() throws Exception {
    openSettings(TOKEN);
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    WebElement rate = wait.until(d -> d.findElement(By.cssSelector("[data-setting='nvidia.nvidia.rate_rpm']")));
    assertThat(rate.getAttribute("value")).isEqualTo("40");

    rate.clear();
    rate.sendKeys("0");
    browser.findElement(By.id("apply-settings")).click();
    wait.until(d -> !fieldError(rate).isEmpty());
    assertThat(fieldError(rate)).isEqualTo("pools[0].backends[0].rate_rpm: 0 is outside 1..100000");
    assertThat(rateRpm).isEqualTo(40);

    rate.clear();
    rate.sendKeys("30");
    browser.findElement(By.id("apply-settings")).click();
    wait.until(d -> d.findElement(By.id("settings-message")).getText().startsWith("applied"));
    assertThat(browser.findElement(By.id("settings-message")).getText())
        .isEqualTo("applied: pools.nvidia.backends.nvidia.rate_rpm: 40 → 30");
    assertThat(rateRpm).isEqualTo(30);
    assertThat(json.readTree(posted.getLast())).isEqualTo(json.readTree(
        "{\"pools\":[{\"name\":\"nvidia\",\"backends\":[{\"id\":\"nvidia\",\"rate_rpm\":30}]}]}"));
    assertThat(authorizations).containsOnly("Bearer " + TOKEN);
    assertThat(browser.getCurrentUrl()).doesNotContain(TOKEN);
    assertThat(browser.executeScript("return sessionStorage.getItem('sluice.adminToken')")).isEqualTo(TOKEN);
    assertThat(browser.findElement(By.cssSelector("[data-setting='nvidia.nvidia.rate_rpm']")).getAttribute("value"))
        .isEqualTo("30");
  }

  private void openSettings(String token) {
    browser.findElement(By.cssSelector("#settings summary")).click();
    WebElement field = browser.findElement(By.id("token"));
    field.clear();
    field.sendKeys(token);
    browser.findElement(By.id("load-settings")).click();
  }

  private static String fieldError(WebElement input) {
    return input.findElement(By.xpath("following-sibling::span[@class='field-error']")).getText();
  }

  /** Answers {@code /api/admin/config} as the admin API's contract describes, for one pool with one backend. */
  private final class AdminStandIn extends Handler.Abstract {
    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      if (!request.getHttpURI().getPath().equals("/api/admin/config")) {
        return false;
      }
      String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
      authorizations.add(String.valueOf(authorization));
      if (authorization == null) {
        answer(response, callback, 401, error("Missing admin token.", "missing_token", null));
      } else if (!authorization.equals("Bearer " + TOKEN)) {
        answer(response, callback, 403, error("Wrong admin token.", "wrong_token", null));
      } else if (request.getMethod().equals("GET")) {
        answer(response, callback, 200, config());
      } else {
        String body = Content.Source.asString(request, StandardCharsets.UTF_8);
        posted.add(body);
        JsonNode rate = json.readTree(body).at("/pools/0/backends/0/rate_rpm");
        if (rate.asInt() < 1 || rate.asInt() > 100_000) {
          String param = "pools[0].backends[0].rate_rpm";
          answer(response, callback, 400, error(param + ": " + rate + " is outside 1..100000", "invalid_config",
              param));
        } else {
          int old = rateRpm;
          rateRpm = rate.asInt();
          answer(response, callback, 200, "{\"changed\":[{\"key\":\"pools.nvidia.backends.nvidia.rate_rpm\",\"old\":"
              + old + ",\"new\":" + rateRpm + "}],\"config\":" + config() + "}");
        }
      }
      return true;
    }

    private String config() {
      return """
          {"log_level":"INFO","defaults":{"timeout_seconds":60,"low_priority_timeout_seconds":2},
           "pools":[{"name":"nvidia","queue_max_size":500,"full_policy":"passthrough",
             "backends":[{"id":"nvidia","base_url":"http://127.0.0.1:1/v1","api_key":"nvap****",
               "rate_rpm":%d,"capacity":40}]}],
           "rate_rpm":%d,"queue_max_size":500,"fallback_enabled_passthrough":true}""".formatted(rateRpm, rateRpm);
    }

    private static String error(String message, String code, String param) {
      return "{\"error\":{\"message\":\"" + message + "\",\"type\":\"invalid_request_error\",\"code\":\"" + code
          + "\"" + (param == null ? "" : ",\"param\":\"" + param + "\"") + "}}";
    }

    private static void answer(Response response, Callback callback, int status, String body) {
      response.setStatus(status);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
      response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
    }
  }
}
