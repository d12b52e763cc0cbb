package dev.sluice.proxy;

import static dev.sluice.proxy.Harness.uri;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.cli.Sluice;
import dev.sluice.sim.RecordedRequest;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import dev.sluice.time.ManualClock;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * {@code GET /v1/models} end to end: Sluice merges the lists of every pool's backends and of the passthrough
 * upstream, lists each model under the id a caller must send and only where that id is routed, caches each list,
 * leaves out upstreams that fail, and never shows a key.
 */
class ModelCatalogTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String BACKEND_KEY = "sk-backend-secret-1234";
  private static final String CALLER_KEY = "sk-caller-secret-5678";
  private final Harness harness = new Harness();
  private final List<AutoCloseable> others = new ArrayList<>();
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger listsLogger = (Logger) LoggerFactory.getLogger(ModelLists.class);

  ModelCatalogTest() {
    logs.start();
    listsLogger.addAppender(logs);
    // Kept here, at every level, instead of in the build's output.
    listsLogger.setLevel(Level.INFO);
    listsLogger.setAdditive(false);
  }

  @AfterEach
  void stop() throws Exception {
    listsLogger.detachAppender(logs);
    listsLogger.setLevel(null);
    listsLogger.setAdditive(true);
    harness.close();
    for (AutoCloseable other : others) {
      other.close();
    }
  }

  private SimServer sim(String... models) {
    return harness.sim(SimConfig.defaults().withModels(List.of(models)));
  }

  private Sluice sluice(String yaml, Path dir) throws Exception {
    return sluice(yaml, dir, Clock.system());
  }

  private Sluice sluice(String yaml, Path dir, Clock clock) throws Exception {
    return harness.sluiceFromYaml(yaml, Map.of("BACKEND_KEY", BACKEND_KEY), dir, clock);
  }

  private HttpResponse<String> models(Sluice sluice, String... headers) throws Exception {
    return get(sluice, "/v1/models", headers);
  }

  private HttpResponse<String> get(Sluice sluice, String path, String... headers) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(uri(sluice, path)).timeout(Duration.ofSeconds(20)).GET();
    if (headers.length > 0) {
      request.headers(headers);
    }
    return harness.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> ids(HttpResponse<String> response) throws Exception {
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    JsonNode list = JSON.readTree(response.body());
    assertThat(list.get("object").asText()).isEqualTo("list");
    List<String> ids = new ArrayList<>();
    list.get("data").forEach(model -> ids.add(model.get("id").asText()));
    return ids;
  }

  private static long listRequests(SimServer sim) {
    return sim.recentRequests().stream().filter(r -> r.path().equals("/v1/models")).count();
  }

  private static Optional<String> authorization(RecordedRequest request) {
    return request.headers().stream().filter(h -> h.name().equalsIgnoreCase("Authorization"))
        .map(RecordedRequest.Header::value).findFirst();
  }

  private List<String> logLines() {
    synchronized (logs) {
      return logs.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage() + " " + e.getKeyValuePairs())
          .toList();
    }
  }

  @Test
  void listsWhatEachPoolClaimsFromItsBackendsAndTheRestFromPassthrough(@TempDir Path dir) throws Exception {
    SimServer openai1 = sim("gpt-4o", "gpt-4o-mini", "dall-e-3");
    SimServer openai2 = sim("gpt-4o", "gpt-4o-2024-08-06");
    SimServer meta = sim("meta/llama-3.3-70b-instruct", "mistral/mixtral");
    SimServer passthrough = sim("mistral-large", "gpt-4o", "meta/llama-3.1-8b", "openai/o1");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools:
          - name: openai
            aliases: [openai]
            models: [gpt-4o, "gpt-4o-*"]
            backends: [{id: oa-1, base_url: "%s"}, {id: oa-2, base_url: "%s"}]
          - name: meta
            aliases: [meta-direct]
            models: ["meta/*"]
            backends: [{id: meta-1, base_url: "%s"}]
        """.formatted(passthrough.baseUrl(), openai1.baseUrl(), openai2.baseUrl(), meta.baseUrl()), dir);

    HttpResponse<String> response = models(sluice);

    // dall-e-3 and mistral/mixtral are claimed by no pool, so a caller could not reach them through their pools;
    // passthrough's gpt-4o, meta/... and openai/... would go to a pool (by name, glob and alias), not passthrough.
    assertThat(ids(response)).containsExactly(
        "gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "meta/llama-3.3-70b-instruct", "mistral-large");
    assertThat(JSON.readTree(response.body()).at("/data/3")).isEqualTo(JSON.readTree(
        "{\"id\":\"meta/llama-3.3-70b-instruct\",\"object\":\"model\",\"created\":1735689600,\"owned_by\":\"meta\"}"));
    assertThat(List.of(openai1, openai2, meta, passthrough)).allSatisfy(sim -> assertThat(listRequests(sim)).isOne());
  }

  @Test
  void aPoolThatStripsThePrefixListsItsModelsUnderItsFirstAlias(@TempDir Path dir) throws Exception {
    SimServer nvidia = sim("meta/llama-3.1-8b", "nvidia/nemotron");
    SimServer passthrough = sim("other");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools:
          - name: nvidia
            aliases: [nvidia, nvidiavx]
            strip_prefix: true
            backends: [{id: nv-1, base_url: "%s"}]
        """.formatted(passthrough.baseUrl(), nvidia.baseUrl()), dir);

    HttpResponse<String> response = models(sluice);

    assertThat(ids(response)).containsExactly("nvidia/meta/llama-3.1-8b", "nvidia/nvidia/nemotron", "other");
    assertThat(JSON.readTree(response.body()).at("/data/0/owned_by").asText()).isEqualTo("meta");
    // The id as listed is the one to send: it reaches the backend, which gets its own id.
    assertThat(harness.post(uri(sluice, "/v1/chat/completions"),
        "{\"model\":\"nvidia/meta/llama-3.1-8b\",\"messages\":[]}").statusCode()).isEqualTo(200);
    assertThat(nvidia.recentRequests().getLast().bodyText()).contains("\"model\":\"meta/llama-3.1-8b\"");
  }

  @Test
  void theDefaultPoolListsWhatNoOtherPoolClaimsAndPassthroughListsNothing(@TempDir Path dir) throws Exception {
    SimServer openai = sim("gpt-4o");
    SimServer general = sim("gpt-4o", "mistral-large", "other/model");
    SimServer passthrough = sim("passthrough-model");
    Sluice sluice = sluice("""
        upstream: "%s"
        default_pool: general
        pools:
          - name: openai
            models: [gpt-4o]
            backends: [{id: oa-1, base_url: "%s"}]
          - name: general
            backends: [{id: general-1, base_url: "%s"}]
        """.formatted(passthrough.baseUrl(), openai.baseUrl(), general.baseUrl()), dir);

    assertThat(ids(models(sluice))).containsExactly("gpt-4o", "mistral-large", "other/model");
  }

  @Test
  void withEnvironmentVariablesAloneTheUpstreamsModelsAreListed() throws Exception {
    SimServer sim = harness.sim();
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", sim.baseUrl(), "SIDECAR_API_KEY", BACKEND_KEY));

    HttpResponse<String> response = models(sluice, "Authorization", "Bearer " + CALLER_KEY);

    // nvidia/... through the pool nvidia (its alias), the others as passthrough: all of the upstream's models.
    assertThat(ids(response)).containsExactlyInAnyOrderElementsOf(SimConfig.DEFAULT_MODELS);
    assertThat(sim.recentRequests()).extracting(ModelCatalogTest::authorization).containsExactlyInAnyOrder(
        Optional.of("Bearer " + BACKEND_KEY), Optional.of("Bearer " + CALLER_KEY));
    assertThat(response.body()).doesNotContain(BACKEND_KEY, CALLER_KEY);
  }

  @Test
  void eachListIsAskedForWithTheCredentialsTheProxyWouldSend(@TempDir Path dir) throws Exception {
    SimServer keyed = sim("a/one");
    SimServer keyless = sim("b/two");
    SimServer passthrough = sim("three");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools:
          - name: a
            backends: [{id: a-1, base_url: "%s", api_key_env: BACKEND_KEY}]
          - name: b
            backends: [{id: b-1, base_url: "%s"}]
        """.formatted(passthrough.baseUrl(), keyed.baseUrl(), keyless.baseUrl()), dir);

    HttpResponse<String> response = models(sluice, "Authorization", "Bearer " + CALLER_KEY, "X-Custom", "no");

    assertThat(ids(response)).containsExactly("a/one", "b/two", "three");
    assertThat(authorization(keyed.recentRequests().getLast())).contains("Bearer " + BACKEND_KEY);
    assertThat(authorization(keyless.recentRequests().getLast())).contains("Bearer " + CALLER_KEY);
    assertThat(authorization(passthrough.recentRequests().getLast())).contains("Bearer " + CALLER_KEY);
    assertThat(passthrough.recentRequests().getLast().headers())
        .noneMatch(h -> h.name().equalsIgnoreCase("X-Custom"));
    assertThat(response.body()).doesNotContain(BACKEND_KEY, CALLER_KEY);
  }

  @Test
  void theAnswerIsNamedAndTimedAsEveryAnswerAndTheQueryIsIgnored(@TempDir Path dir) throws Exception {
    SimServer sim = sim("a/one", "b/two");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools: [{name: a, backends: [{id: a-1, base_url: "%s"}]}]
        """.formatted(sim.baseUrl(), sim.baseUrl()), dir);

    HttpResponse<String> response = get(sluice, "/v1/models?limit=1", "X-Request-Id", "list-1");

    assertThat(ids(response)).containsExactly("a/one", "b/two");
    assertThat(response.headers().firstValue("Content-Type")).contains("application/json");
    assertThat(response.headers().firstValue("X-Sluice-Request-Id")).contains("list-1");
    assertThat(response.headers().firstValue("X-Sluice-Overhead-Ms")).hasValueSatisfying(
        ms -> assertThat(Double.parseDouble(ms)).isNotNegative());
    // One URL and the same (no) credentials for the pool's backend and passthrough: asked once.
    assertThat(sim.recentRequests()).extracting(RecordedRequest::path).containsExactly("/v1/models");
  }

  @Test
  void aModelByIdIsStillAskedOfItsPool(@TempDir Path dir) throws Exception {
    SimServer pool = sim("one");
    SimServer passthrough = sim("two");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools: [{name: a, strip_prefix: true, backends: [{id: a-1, base_url: "%s"}]}]
        """.formatted(passthrough.baseUrl(), pool.baseUrl()), dir);

    assertThat(get(sluice, "/v1/models/a/one").statusCode()).isEqualTo(200);

    assertThat(pool.recentRequests()).extracting(RecordedRequest::path).containsExactly("/v1/models/one");
    assertThat(passthrough.recentRequests()).isEmpty();
  }

  @Test
  void aListIsCachedForThirtySecondsPerUpstreamAndCredentials(@TempDir Path dir) throws Exception {
    ManualClock clock = new ManualClock();
    SimServer pool = sim("a/one");
    SimServer passthrough = sim("two");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools: [{name: a, backends: [{id: a-1, base_url: "%s", api_key_env: BACKEND_KEY}]}]
        """.formatted(passthrough.baseUrl(), pool.baseUrl()), dir, clock);

    assertThat(ids(models(sluice))).containsExactly("a/one", "two");
    pool.updateConfig(pool.config().withModels(List.of("a/one", "a/new")));
    clock.advance(Duration.ofSeconds(ModelLists.FRESH_SECONDS).minusMillis(1));
    assertThat(ids(models(sluice))).containsExactly("a/one", "two");
    assertThat(listRequests(pool)).isOne();
    assertThat(listRequests(passthrough)).isOne();

    // Another caller's credentials get their own passthrough list; the pool's key is the same for both.
    assertThat(ids(models(sluice, "Authorization", "Bearer " + CALLER_KEY))).containsExactly("a/one", "two");
    assertThat(listRequests(pool)).isOne();
    assertThat(listRequests(passthrough)).isEqualTo(2);

    clock.advance(Duration.ofMillis(1));
    assertThat(ids(models(sluice))).containsExactly("a/one", "a/new", "two");
    assertThat(listRequests(pool)).isEqualTo(2);
    assertThat(listRequests(passthrough)).isEqualTo(3);
  }

  @Test
  void anUpstreamThatIsDownIsLeftOutAndLoggedOnceWithoutItsKey(@TempDir Path dir) throws Exception {
    ManualClock clock = new ManualClock();
    SimServer passthrough = sim("two");
    int closed = Harness.closedPort();
    Sluice sluice = sluice("""
        upstream: "%s"
        pools: [{name: a, backends: [{id: a-1, base_url: "http://127.0.0.1:%d/v1", api_key_env: BACKEND_KEY}]}]
        """.formatted(passthrough.baseUrl(), closed), dir, clock);

    assertThat(ids(models(sluice))).containsExactly("two");
    clock.advance(Duration.ofSeconds(ModelLists.FRESH_SECONDS));
    assertThat(ids(models(sluice))).containsExactly("two");

    assertThat(logLines()).singleElement().satisfies(line -> assertThat(line)
        .startsWith("WARN the upstream could not be reached when asked for its models; its models are left out")
        .contains("a-1 (127.0.0.1:" + closed + ")")
        .doesNotContain(BACKEND_KEY));
  }

  @Test
  void theLastGoodListOfAFailingUpstreamStandsInForFiveMinutes(@TempDir Path dir) throws Exception {
    ManualClock clock = new ManualClock();
    SimServer pool = sim("a/one");
    SimServer passthrough = sim("two");
    Sluice sluice = sluice("""
        upstream: "%s"
        pools: [{name: a, backends: [{id: a-1, base_url: "%s"}]}]
        """.formatted(passthrough.baseUrl(), pool.baseUrl()), dir, clock);
    assertThat(ids(models(sluice))).containsExactly("a/one", "two");

    pool.close();
    clock.advance(Duration.ofSeconds(ModelLists.FRESH_SECONDS));
    assertThat(ids(models(sluice))).containsExactly("a/one", "two");
    clock.advance(Duration.ofSeconds(ModelLists.STALE_SECONDS - ModelLists.FRESH_SECONDS).minusMillis(1));
    assertThat(ids(models(sluice))).containsExactly("a/one", "two");
    clock.advance(Duration.ofMillis(1));
    assertThat(ids(models(sluice))).containsExactly("two");

    assertThat(logLines()).singleElement().asString().startsWith("WARN the upstream ")
        .contains("when asked for its models; its last good list stands in for up to 300 s");
  }

  @Test
  void whenNoUpstreamListsItsModelsTheAnswerIs502NamingThemButNoKey(@TempDir Path dir) throws Exception {
    int closed = Harness.closedPort();
    CannedUpstream failing = new CannedUpstream(CannedUpstream.response("500 Internal Server Error",
        "Content-Type: application/json\r\nContent-Length: 2\r\n", "{}".getBytes(StandardCharsets.UTF_8)));
    others.add(failing);
    Sluice sluice = sluice("""
        upstream: "http://127.0.0.1:%d/v1"
        pools: [{name: a, backends: [{id: a-1, base_url: "http://127.0.0.1:%d/v1", api_key_env: BACKEND_KEY}]}]
        """.formatted(failing.port(), closed), dir);

    HttpResponse<String> response = models(sluice, "Authorization", "Bearer " + CALLER_KEY);

    assertThat(response.statusCode()).isEqualTo(502);
    assertThat(response.headers().firstValue("X-Sluice-Request-Id")).isPresent();
    assertThat(response.body()).isEqualTo("{\"error\":{\"message\":\"No upstream listed its models: a-1 (127.0.0.1:"
        + closed + ") could not be reached; passthrough (127.0.0.1:" + failing.port() + ") answered 500.\","
        + "\"type\":\"upstream_error\",\"code\":\"upstream_failed\"}}");
    assertThat(logLines()).hasSize(2).allSatisfy(line -> assertThat(line).doesNotContain(BACKEND_KEY, CALLER_KEY));
  }

  @Test
  void aCallerWhoseCredentialsAreRefusedAndCanReachNothingGetsTheRefusal(@TempDir Path dir) throws Exception {
    CannedUpstream refusing = new CannedUpstream(CannedUpstream.response("401 Unauthorized",
        "Content-Type: application/json\r\nContent-Length: 2\r\n", "{}".getBytes(StandardCharsets.UTF_8)));
    others.add(refusing);
    String base = "http://127.0.0.1:" + refusing.port() + "/v1";
    Sluice sluice = harness.sluice(Map.of("SIDECAR_UPSTREAM", base));

    HttpResponse<String> response = models(sluice, "Authorization", "Bearer " + CALLER_KEY);

    assertThat(response.statusCode()).isEqualTo(401);
    assertThat(response.body()).isEqualTo("{\"error\":{\"message\":\"The upstream nvidia-default (127.0.0.1:"
        + refusing.port() + ") refused the credentials of this request (401), and no other upstream lists a model"
        + " for it.\",\"type\":\"authentication_error\",\"code\":\"upstream_refused_credentials\"}}");
    assertThat(logLines()).singleElement().asString().startsWith("INFO the upstream refused a caller's credentials");
  }
}
