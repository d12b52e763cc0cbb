package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /api/admin/cooldowns}: a backend cooling after a refused connection, read and ended over real sockets. */
class CooldownApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /**
   * Pool nvidia: nv-1 on a port where nothing listens (cooling 600 s after its first failure), nv-2 before the sim;
   * pool solo: its only backend, which never cools. One chat has failed over from nv-1 to nv-2.
   */
  private void nv1Cooling() throws Exception {
    harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: nv-1, base_url: "http://127.0.0.1:%d/v1", cooldown: {base_seconds: 600, max_seconds: 600}}
              - {id: nv-2, base_url: "%s"}
          - name: solo
            aliases: [solo]
            backends: [{id: solo-1, base_url: "%2$s"}]
        """.formatted(closedPort(), harness.sim.baseUrl()), Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN), dir);
    assertThat(harness.chatAsync("a", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
  }

  private JsonNode entry(String id) throws Exception {
    for (JsonNode entry : harness.adminJson("GET", "/api/admin/cooldowns", null).get("cooldowns")) {
      if (entry.get("id").asText().equals(id)) {
        return entry;
      }
    }
    throw new AssertionError("no backend " + id);
  }

  private static int closedPort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  @Test
  void aCoolingBackendShowsWhatIsLeftItsFailuresItsEndAndItsEvents() throws Exception {
    Instant before = Instant.now().minusSeconds(1);
    nv1Cooling();

    JsonNode cooling = entry("nv-1");

    assertThat(cooling.get("pool").asText()).isEqualTo("nvidia");
    assertThat(cooling.get("applies").asBoolean()).isTrue();
    assertThat(cooling.get("cooling").asBoolean()).isTrue();
    assertThat(cooling.get("remaining_seconds").asDouble()).isBetween(500.0, 600.0);
    assertThat(cooling.get("consecutive_failures").asInt()).isEqualTo(1);
    assertThat(cooling.get("cooldowns_started").asInt()).isEqualTo(1);
    assertThat(Instant.parse(cooling.get("ends_at").asText()))
        .isBetween(before.plusSeconds(500), Instant.now().plusSeconds(601));
    JsonNode event = cooling.at("/events/0");
    assertThat(cooling.get("events")).hasSize(1);
    assertThat(event.get("summary").asText()).isEqualTo("upstream connect failure: cooling 600 s");
    assertThat(event.get("count").asInt()).isEqualTo(1);
    assertThat(event.get("seconds").asDouble()).isEqualTo(600.0);
    assertThat(Duration.between(Instant.parse(event.get("start").asText()), Instant.parse(event.get("end").asText())))
        .isEqualTo(Duration.ofSeconds(600));
    JsonNode healthy = entry("nv-2");
    assertThat(healthy.get("cooling").asBoolean()).isFalse();
    assertThat(healthy.get("remaining_seconds").asDouble()).isZero();
    assertThat(healthy.get("ends_at").isNull()).isTrue();
    assertThat(healthy.get("events")).isEmpty();
  }

  @Test
  void aPoolsOnlyBackendShowsThatCooldownsDoNotApply() throws Exception {
    nv1Cooling();

    JsonNode solo = harness.adminJson("GET", "/api/admin/cooldowns?pool=solo", null);

    assertThat(solo).isEqualTo(JSON.readTree("""
        {"cooldowns":[{"id":"solo-1","pool":"solo","applies":false,
          "reason":"the only backend of its pool never cools down: there is nowhere else to send its traffic"}]}"""));
  }

  @Test
  void deleteEndsTheCooldownNowAndTheBackendServesAgain() throws Exception {
    nv1Cooling();

    HttpResponse<String> ended = harness.admin("DELETE", "/api/admin/cooldowns/nv-1", null);
    HttpResponse<String> again = harness.admin("DELETE", "/api/admin/cooldowns/nv-1", null);
    HttpResponse<String> unknown = harness.admin("DELETE", "/api/admin/cooldowns/nv-9", null);

    assertThat(ended.statusCode()).isEqualTo(200);
    JsonNode state = JSON.readTree(ended.body());
    assertThat(state.get("ended").asBoolean()).isTrue();
    assertThat(state.get("cooling").asBoolean()).isFalse();
    assertThat(state.get("consecutive_failures").asInt()).isZero();
    assertThat(state.at("/events/1/summary").asText()).isEqualTo("ended early by an operator");
    assertThat(JSON.readTree(again.body()).get("ended").asBoolean()).isFalse();
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(JSON.readTree(unknown.body()).at("/error/code").asText()).isEqualTo("not_found");
    assertThat(harness.status().at("/pools/0/backends/0/state").asText()).isEqualTo("active");
    assertThat(harness.events("sluice.audit")).extracting(e -> e.getFormattedMessage()).hasSize(2)
        .first().asString().matches("admin changed pools\\.nvidia\\.backends\\.nv-1\\.cooldown: cooling, \\d+\\.\\d s"
            + " left -> ended");
    // Its port is still closed: the next request fails on it once more, and is served by nv-2.
    assertThat(harness.chatAsync("b", "normal").get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    assertThat(entry("nv-1").get("cooling").asBoolean()).isTrue();
  }

  @Test
  void onlyGetAndDeleteAreServed() throws Exception {
    nv1Cooling();

    HttpResponse<String> post = harness.admin("POST", "/api/admin/cooldowns", "{}");
    HttpResponse<String> get = harness.admin("GET", "/api/admin/cooldowns/nv-1", null);

    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).contains("GET");
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("Allow")).contains("DELETE");
  }
}
