package dev.sluice.observe.dashboard;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.chrome.ChromeDriver;

/**
 * Takes the README's screenshot of the dashboard under load (run by {@code bench/dashboard-screenshot.sh} against
 * {@code ./sluice demo}): offers chat completions of mixed priorities at a fixed rate for a while, then saves the
 * page as a PNG.
 *
 * <pre>java … DashboardScreenshot BASE_URL OUT.png [SECONDS] [REQUESTS_PER_SECOND]</pre>
 */
public final class DashboardScreenshot {
  private static final String[] PRIORITIES = {"urgent", "high", "normal", "normal", "low"};

  private DashboardScreenshot() {}

  public static void main(String[] args) throws Exception {
    URI base = URI.create(args[0].endsWith("/") ? args[0] : args[0] + "/");
    Path out = Path.of(args[1]);
    int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 90;
    int perSecond = args.length > 3 ? Integer.parseInt(args[3]) : 5;
    Path profile = Files.createTempDirectory("sluice-screenshot");
    ChromeDriver browser = Chromium.start(profile);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      browser.manage().window().setSize(new Dimension(1400, 1500));
      browser.get(base.toString());
      // An open loop bounded in time and in requests outstanding.
      Semaphore outstanding = new Semaphore(500);
      long intervalNanos = 1_000_000_000L / perSecond;
      long start = System.nanoTime();
      for (long sent = 0; System.nanoTime() - start < seconds * 1_000_000_000L; sent++) {
        long due = start + sent * intervalNanos;
        long wait = due - System.nanoTime();
        if (wait > 0) {
          Thread.sleep(Duration.ofNanos(wait));
        }
        if (!outstanding.tryAcquire()) {
          continue;
        }
        String priority = PRIORITIES[ThreadLocalRandom.current().nextInt(PRIORITIES.length)];
        http.sendAsync(HttpRequest.newBuilder(base.resolve("v1/chat/completions"))
            .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json").header("X-Priority", priority)
            .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"nvidia/llama-3.1-nemotron-70b-instruct\","
                + "\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"))
            .build(), HttpResponse.BodyHandlers.discarding()).whenComplete((r, x) -> outstanding.release());
      }
      Path png = browser.getScreenshotAs(OutputType.FILE).toPath();
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.copy(png, out, StandardCopyOption.REPLACE_EXISTING);
      System.out.println("wrote " + out);
    } finally {
      browser.quit();
      http.shutdownNow(); // requests still queued in Sluice are not waited for
    }
  }
}
