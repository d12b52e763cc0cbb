package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.sluice.cli.Sluice;
import dev.sluice.observe.JsonLineEncoder;
import dev.sluice.sim.SimServer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** One JSON line per finished request, with the fields operators need and no secrets. */
class RequestLogTest {
  private final Harness harness = new Harness();
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Logger requestLogger = (Logger) LoggerFactory.getLogger("sluice.request");

  @BeforeEach
  void attach() {
    appender.start();
    requestLogger.addAppender(appender);
  }

  @AfterEach
  void detach() throws Exception {
    requestLogger.detachAppender(appender);
    harness.close();
  }

  @Test
  void finishedStreamIsLoggedOnceWithUsageAndNoSecrets() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_API_KEY", "nvapi-log-secret"));

    harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/llama\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
        "X-Priority", "HIGH", "Authorization", "Bearer caller-secret", "X-Request-Id", "log-1");

    await().atMost(Duration.ofSeconds(5)).until(() -> appender.list.size() == 1);
    String line = new String(new JsonLineEncoder().encode(appender.list.getFirst()), StandardCharsets.UTF_8);
    assertThat(line).startsWith("{\"ts\":\"").endsWith("}\n")
        .contains("\"request_id\":\"log-1\"", "\"pool\":\"nvidia\"", "\"backend\":\"nvidia-default\"",
            "\"model\":\"nvidia/llama\"", "\"priority\":\"high\"", "\"stream\":true", "\"status\":200",
            "\"queue_ms\":", "\"upstream_ms\":", "\"total_tokens\":")
        .doesNotContain("secret");
  }

  @Test
  void rejectedRequestIsLoggedWithItsStatus() throws Exception {
    Sluice sluice = harness.sluice(Map.of());

    harness.post(uri(sluice, "/v1/chat/completions"), "{not json");

    await().atMost(Duration.ofSeconds(5)).until(() -> appender.list.size() == 1);
    String line = new String(new JsonLineEncoder().encode(appender.list.getFirst()), StandardCharsets.UTF_8);
    assertThat(line).contains("\"status\":400", "\"failure\":\"rejected\"", "\"priority\":\"normal\"");
  }
}
