package dev.sluice.admin;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code /api/admin/backends}: backends shown, disabled and enabled again, and dead keys revived. */
class BackendApiTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final AdminHarness harness = new AdminHarness();

  @TempDir
  Path dir;

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  /** Pool nvidia: nv-1 (key {@link AdminHarness#KEY}) before {@code first}, nv-2 before the sim. */
  private void twoBackends(String first) throws Exception {
    harness.startYaml("""
        pools:
          - name: nvidia
            aliases: [nvidia]
            backends:
              - {id: nv-1, base_url: "%s", api_key_env: SIM_KEY, rate_rpm: 600, capacity: 20}
              - {id: nv-2, base_url: "%s"}
        """.formatted(first, harness.sim.baseUrl()), Map.of("SIDECAR_ADMIN_TOKEN", AdminHarness.TOKEN), dir);
  }

  private int chat() throws Exception {
    return harness.chatAsync("r", "normal").get(20, TimeUnit.SECONDS).statusCode();
  }

  private static JsonNode json(HttpResponse<String> response) throws Exception {
    return JSON.readTree(response.body());
  }

  @Test
  void backendsShowTheirSettingsUnderTheFilesKeysWithPoolStateAndTheKeyMasked() throws Exception {
    twoBackends(harness.sim.baseUrl());

    JsonNode all = harness.adminJson("GET", "/api/admin/backends", null);
    HttpResponse<String> one = harness.admin("GET", "/api/admin/backends/nv-1", null);

    assertThat(all.get("backends")).extracting(b -> b.get("id").asText()).containsExactly("nv-1", "nv-2");
    assertThat(json(one)).isEqualTo(JSON.readTree("""
        {"pool":"nvidia","id":"nv-1","base_url":"%s","api_key":"nvap****","rate_rpm":600,"capacity":20,
         "concurrency":{"mode":"fixed","max_concurrent":8},
         "cooldown":{"base_seconds":5,"max_seconds":300,"exponential":true,"precheck_seconds":2},
         "enabled":true,"state":"active","out_of_service":null}""".formatted(harness.sim.baseUrl())));
    assertThat(all.at("/backends/1/api_key").isNull()).isTrue();
    assertThat(one.body()).doesNotContain(AdminHarness.KEY);
    assertThat(harness.admin("GET", "/api/admin/backends/nv-9", null).statusCode()).isEqualTo(404);
    assertThat(harness.admin("GET", "/api/admin/backends?pool=other", null).statusCode()).isEqualTo(404);
  }

  @Test
  void aDisabledBackendGetsNoTrafficUntilEnabledAndRequestsGoToTheOther() throws Exception {
    twoBackends(harness.sim.baseUrl());

    HttpResponse<String> disabled = harness.admin("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":false}");
    assertThat(chat()).isEqualTo(200);
    JsonNode whileDisabled = harness.status();
    HttpResponse<String> enabled = harness.admin("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":true}");
    assertThat(chat()).isEqualTo(200);

    assertThat(disabled.statusCode()).isEqualTo(200);
    assertThat(json(disabled).get("state").asText()).isEqualTo("disabled");
    assertThat(json(disabled).get("enabled").asBoolean()).isFalse();
    assertThat(json(disabled).at("/out_of_service/reason").asText()).isEqualTo("disabled by an operator");
    assertThat(Instant.parse(json(disabled).at("/out_of_service/since").asText())).isBefore(Instant.now());
    assertThat(whileDisabled.at("/pools/0/backends/0/state").asText()).isEqualTo("disabled");
    assertThat(json(enabled).get("state").asText()).isEqualTo("active");
    assertThat(json(enabled).get("out_of_service").isNull()).isTrue();
    assertThat(harness.sim.stats().accepted()).isEqualTo(2);
    assertThat(harness.events("sluice.audit")).extracting(e -> e.getFormattedMessage()).containsExactly(
        "admin changed pools.nvidia.backends.nv-1.enabled: active -> disabled",
        "admin changed pools.nvidia.backends.nv-1.enabled: disabled -> active");
    // A warning; its return is logged at INFO, below the tests' level.
    assertThat(harness.logLines()).anyMatch(line -> line.startsWith("sluice.backend backend disabled by an operator"));
  }

  @Test
  void aDeadKeyIsShownAsSuchAndEnablingBringsItBackAtOnce() throws Exception {
    TestUpstream refusing = harness.closing(TestUpstream.answering(401));
    twoBackends(refusing.baseUrl());
    assertThat(chat()).isEqualTo(200); // the 401 fails over to nv-2

    JsonNode dead = harness.adminJson("GET", "/api/admin/backends/nv-1", null);
    HttpResponse<String> revived = harness.admin("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":true}");

    assertThat(dead.get("state").asText()).isEqualTo("dead");
    assertThat(dead.get("enabled").asBoolean()).as("dead, not disabled").isTrue();
    assertThat(dead.at("/out_of_service/reason").asText()).isEqualTo("dead: the upstream answered 401 to its key");
    assertThat(json(revived).get("state").asText()).isIn("active", "cooling");
    assertThat(json(revived).get("out_of_service").isNull()).isTrue();
    assertThat(harness.events("sluice.audit").getFirst().getFormattedMessage())
        .isEqualTo("admin changed pools.nvidia.backends.nv-1.enabled: dead -> " + json(revived).get("state").asText());
    assertThat(chat()).isEqualTo(200);
    assertThat(refusing.received()).as("sent to again once enabled").isGreaterThanOrEqualTo(1);
  }

  @Test
  void otherFieldsAreRefusedNamingThemAndWhereTheyAreChanged() throws Exception {
    twoBackends(harness.sim.baseUrl());

    JsonNode rate = harness.adminJson("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":false,\"rate_rpm\":10}");
    JsonNode several = harness.adminJson("PATCH", "/api/admin/backends/nv-1",
        "{\"base_url\":\"http://x/v1\",\"concurrency\":{},\"colour\":1}");
    JsonNode missing = harness.adminJson("PATCH", "/api/admin/backends/nv-1", "{}");

    assertThat(rate.get("error")).isEqualTo(JSON.readTree("""
        {"message":"rate_rpm: is changed through POST /api/admin/config (pools[].backends[].rate_rpm). PATCH takes\
         only {\\"enabled\\": true|false}.","type":"invalid_request_error","code":"invalid_value","param":"rate_rpm"}
        """));
    assertThat(several.at("/error/message").asText()).isEqualTo("base_url: is not changed through the admin API;"
        + " change it in the configuration and restart Sluice; concurrency: is changed through PATCH"
        + " /api/admin/adaptive/keys/{id}/mode and /limit; colour: unknown key. PATCH takes only {\"enabled\":"
        + " true|false}.");
    assertThat(several.at("/error/param").asText()).isEqualTo("base_url");
    assertThat(missing.at("/error/message").asText())
        .isEqualTo("enabled: is required: true puts the backend in service, false takes it out");
    assertThat(harness.status().at("/pools/0/backends/0/state").asText()).isEqualTo("active");
    assertThat(harness.events("sluice.audit")).isEmpty();
  }

  @Test
  void addingAndRemovingBackendsAre405SayingWhy() throws Exception {
    twoBackends(harness.sim.baseUrl());

    HttpResponse<String> add = harness.admin("POST", "/api/admin/backends", "{\"id\":\"nv-3\"}");
    HttpResponse<String> remove = harness.admin("DELETE", "/api/admin/backends/nv-1", null);

    for (HttpResponse<String> refused : List.of(add, remove)) {
      assertThat(refused.statusCode()).isEqualTo(405);
      assertThat(json(refused).at("/error/code").asText()).isEqualTo("method_not_allowed");
      assertThat(json(refused).at("/error/message").asText()).startsWith(BackendEndpoints.NOT_YET + " Use GET");
    }
    assertThat(add.headers().firstValue("Allow")).contains("GET");
    assertThat(remove.headers().firstValue("Allow")).contains("GET, PATCH");
    assertThat(harness.admin("PUT", "/api/admin/backends/nv-1", "{}").headers().firstValue("Allow"))
        .contains("GET, PATCH");
  }

  @Test
  void theKeyAndTheTokenNeverAppearInAnAnswerOrALogLine() throws Exception {
    twoBackends(harness.sim.baseUrl());
    List<HttpResponse<String>> answers = List.of(
        harness.admin("GET", "/api/admin/backends", null),
        harness.admin("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":false}"),
        harness.admin("PATCH", "/api/admin/backends/nv-1", "{\"enabled\":true}"),
        harness.admin("GET", "/api/admin/adaptive/keys/nv-1/stats", null),
        harness.admin("PATCH", "/api/admin/adaptive/keys/nv-1/mode", "{\"enabled\":true}"),
        harness.admin("DELETE", "/api/admin/cooldowns/nv-1", null),
        harness.admin("GET", "/api/admin/cooldowns", null),
        harness.admin("GET", "/api/admin/config", null));

    assertThat(answers).allSatisfy(answer -> {
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.body()).doesNotContain(AdminHarness.KEY).doesNotContain(AdminHarness.TOKEN);
    });
    assertThat(harness.logLines()).isNotEmpty().noneMatch(line -> line.contains(AdminHarness.KEY)
        || line.contains(AdminHarness.TOKEN));
  }
}
