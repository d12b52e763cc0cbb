package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.RecordedRequest;
import dev.sluice.sim.SimServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing end to end: models claimed by exact name, by glob and by alias reach their pools' upstreams and are
 * shaped there (counted as dispatched in {@code /status}); a model nothing claims goes to {@code default_pool} when
 * one is set, else passthrough; {@code strip_prefix} applies the same way whatever claimed the model.
 */
class RoutingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Harness harness = new Harness();
  private SimServer openai;
  private SimServer meta;
  private SimServer general;
  private SimServer passthrough;

  @BeforeEach
  void startProviders() {
    openai = harness.sim();
    meta = harness.sim();
    general = harness.sim();
    passthrough = harness.sim();
  }

  @AfterEach
  void stop() throws Exception {
    harness.close();
  }

  private Sluice sluice(String defaultPool, Path dir) throws Exception {
    return harness.sluiceFromYaml("""
        upstream: "%s"
        %s
        pools:
          - name: openai
            aliases: [openai]
            models: [gpt-4o, "gpt-4o-*"]
            backends: [{id: oa-1, base_url: "%s"}]
          - name: meta
            aliases: [meta-direct]
            models: ["meta/*"]
            strip_prefix: true
            backends: [{id: meta-1, base_url: "%s"}]
          - name: general
            aliases: [general]
            backends: [{id: general-1, base_url: "%s"}]
        """.formatted(passthrough.baseUrl(), defaultPool, openai.baseUrl(), meta.baseUrl(), general.baseUrl()),
        Map.of(), dir);
  }

  private static String chat(String model) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  }

  private HttpResponse<String> post(Sluice sluice, String model) throws Exception {
    return harness.post(uri(sluice, "/v1/chat/completions"), chat(model));
  }

  private long dispatched(Sluice sluice, String pool) throws Exception {
    JsonNode pools = JSON.readTree(harness.get(uri(sluice, "/status")).body()).at("/pools");
    for (JsonNode p : pools) {
      if (p.at("/name").asText().equals(pool)) {
        return p.at("/queue/dispatched").asLong();
      }
    }
    throw new AssertionError("no pool " + pool + " in /status: " + pools);
  }

  private static RecordedRequest onlyRequest(SimServer sim) {
    assertThat(sim.recentRequests()).hasSize(1);
    return sim.recentRequests().getFirst();
  }

  @Test
  void anUnprefixedModelClaimedByExactNameIsShapedByItsPool(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("", dir);

    assertThat(post(sluice, "gpt-4o").statusCode()).isEqualTo(200);
    assertThat(post(sluice, "gpt-4o-mini").statusCode()).isEqualTo(200);

    assertThat(dispatched(sluice, "openai")).isEqualTo(2);
    assertThat(openai.recentRequests()).extracting(RecordedRequest::bodyText)
        .containsExactly(chat("gpt-4o"), chat("gpt-4o-mini"));
    assertThat(passthrough.recentRequests()).isEmpty();
  }

  @Test
  void aVendorModelClaimedByGlobIsShapedByItsPoolAndLosesThePrefixItStrips(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("", dir);

    assertThat(post(sluice, "meta/llama-3").statusCode()).isEqualTo(200);

    assertThat(dispatched(sluice, "meta")).isEqualTo(1);
    assertThat(onlyRequest(meta).bodyText()).isEqualTo(chat("llama-3"));
  }

  @Test
  void aModelByIdIsRoutedByGlobAndStrippedTheSameWay(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("", dir);

    harness.get(uri(sluice, "/v1/models/meta/llama-3"));

    assertThat(dispatched(sluice, "meta")).isEqualTo(1);
    assertThat(onlyRequest(meta).path()).isEqualTo("/v1/models/llama-3");
  }

  @Test
  void anUnclaimedModelGoesToTheDefaultPool(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("default_pool: general", dir);

    assertThat(post(sluice, "mistral-large").statusCode()).isEqualTo(200);
    assertThat(post(sluice, "other/gpt-4o").statusCode()).isEqualTo(200);

    assertThat(dispatched(sluice, "general")).isEqualTo(2);
    assertThat(general.recentRequests()).extracting(RecordedRequest::bodyText)
        .containsExactly(chat("mistral-large"), chat("other/gpt-4o"));
    assertThat(passthrough.recentRequests()).isEmpty();
  }

  @Test
  void withoutADefaultPoolAnUnclaimedModelIsPassthrough(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("", dir);

    assertThat(post(sluice, "mistral-large").statusCode()).isEqualTo(200);

    assertThat(onlyRequest(passthrough).bodyText()).isEqualTo(chat("mistral-large"));
    assertThat(dispatched(sluice, "openai") + dispatched(sluice, "meta") + dispatched(sluice, "general")).isZero();
  }

  @Test
  void aRequestWithoutAModelStaysPassthroughEvenWithADefaultPool(@TempDir Path dir) throws Exception {
    Sluice sluice = sluice("default_pool: general", dir);

    assertThat(harness.get(uri(sluice, "/v1/echo/files")).statusCode()).isEqualTo(200);

    assertThat(onlyRequest(passthrough).path()).isEqualTo("/v1/echo/files");
    assertThat(dispatched(sluice, "general")).isZero();
  }
}
