package dev.sluice.observe.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Outcome;
import dev.sluice.backend.Priority;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatSnapshot;
import dev.sluice.limit.RetreatState;
import dev.sluice.limit.RetryUsage;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import dev.sluice.time.ManualClock;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a snapshot says about the traffic of the last second, and how big a stream frame is. */
class SnapshotBuilderTest {
  private static final String[] FIELDS = {"tokens", "effective_rpm", "configured_rpm", "upstream_429_share",
      "concurrency", "consecutive_failures", "cooldowns", "retry_after_remaining", "last_429", "alerts"};
  private final ObjectMapper json = new ObjectMapper();
  private final ManualClock clock = new ManualClock();
  private final Traffic traffic = new Traffic();
  private final EventLog events = new EventLog(clock);

  @Test
  void ratesSplitSluices429sFromTheUpstreamsAndWaitsArePerSecond() throws Exception {
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(new FakePool("nvidia", 1)), traffic, events);
    traffic.onOutcome(outcome("nvidia", 200, Outcome.Failure.NONE, 10));
    traffic.onOutcome(outcome("nvidia", 200, Outcome.Failure.NONE, 30));
    traffic.onOutcome(outcome("nvidia", 429, Outcome.Failure.RATE_LIMITED, 2_000));
    traffic.onOutcome(outcome("nvidia", 429, Outcome.Failure.NONE, 0));
    traffic.onOutcome(outcome("nvidia", 503, Outcome.Failure.QUEUE_FULL, 0));
    traffic.onOutcome(outcome("nvidia", 400, Outcome.Failure.NONE, 0));
    clock.advance(Duration.ofSeconds(1));

    JsonNode state = json.readTree(builder.build().state());

    JsonNode pool = state.at("/pools/0");
    assertThat(pool.get("rates").toString())
        .isEqualTo("{\"2xx\":2.0,\"4xx\":1.0,\"429_sluice\":1.0,\"429_upstream\":1.0,\"5xx\":1.0}");
    assertThat(pool.at("/queue/wait_max_ms").asDouble()).isEqualTo(2_000.0);
    assertThat(pool.at("/queue/wait_mean_ms").asDouble()).isEqualTo(340.0);
    assertThat(pool.at("/backends/0/rates/2xx").asDouble()).isEqualTo(2.0);
    assertThat(state.get("events")).extracting(e -> e.get("text").asText()).containsExactly(
        "1 request answered 429 rate_limited in pool nvidia", "1 request answered 503 queue_full in pool nvidia");

    clock.advance(Duration.ofSeconds(1));
    JsonNode next = json.readTree(builder.build().state());
    assertThat(next.at("/pools/0/rates/2xx").asDouble()).as("counts start again each second").isZero();
  }

  @Test
  void backendCardsCarryNamedFieldsAndRecentCuts() throws Exception {
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(new FakePool("nvidia", 1)), traffic, events);
    events.retreatChange("nvidia", "nvidia", RetreatState.RETREAT, 40, 30, 0.125, false, false);

    SnapshotBuilder.Snapshot snapshot = builder.build();
    JsonNode backend = json.readTree(snapshot.state()).at("/pools/0/backends/0");

    assertThat(backend.get("fields").fieldNames()).toIterable().containsExactly(FIELDS);
    assertThat(backend.at("/fields/tokens").toString()).as("a gauge: value and max").isEqualTo("[12,40]");
    assertThat(backend.at("/fields/configured_rpm").toString()).isEqualTo("[40]");
    assertThat(backend.at("/fields/last_429").toString()).isEqualTo("[\"none\"]");
    assertThat(backend.at("/fields/concurrency").toString()).as("in flight, limit, where it comes from")
        .isEqualTo("[1,8,\"fixed\"]");
    assertThat(backend.at("/fields/consecutive_failures").toString()).isEqualTo("[0]");
    assertThat(backend.at("/service").asText()).isEqualTo("active");
    assertThat(backend.at("/cooling_seconds").asDouble()).isZero();
    JsonNode fields = json.readTree(snapshot.fields());
    assertThat(fields).extracting(f -> f.get("name").asText()).containsExactly(FIELDS);
    assertThat(fields.get(0).toString()).isEqualTo("{\"name\":\"tokens\",\"label\":\"tokens available\"}");
    assertThat(fields.get(1).toString())
        .isEqualTo("{\"name\":\"effective_rpm\",\"label\":\"effective rate\",\"unit\":\"rpm\"}");
    assertThat(backend.at("/cuts/0/text").asText())
        .isEqualTo("backend nvidia cut 40 → 30 rpm (upstream 429 share 12.5 %), now RETREAT");
  }

  @Test
  void aBackendWithABudgetCarriesItsQuotaBarItsTpmAndItsProvidersCountsAndOneWithoutNone() throws Exception {
    long wall = clock.wallTimeMillis();
    QuotaSnapshot spent = new QuotaSnapshot(QuotaState.QUOTA_EXCEEDED, 1_000, 1_000, 100.0, 90, 5, true,
        "insufficient_quota", 600_000, wall - 100_000, wall + 499_500, 1, 0);
    QuotaSnapshot none = new QuotaSnapshot(QuotaState.WITHIN_QUOTA, 120, 0, 0, 99, 5, false, "", 300_000, 0, 0, 0, 0);
    PoolView pool = () -> new PoolSnapshot("nvidia", 0, 500, FullPolicy.PASSTHROUGH, Map.of(), 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, new RetryUsage(0, 0), List.of(backend("b1", spent, 100_000, 99_000, 42, -1),
            backend("b2", none, 0, 0, -1, -1)));
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(pool), traffic, events);

    SnapshotBuilder.Snapshot snapshot = builder.build();

    JsonNode b1 = json.readTree(snapshot.state()).at("/pools/0/backends/0");
    JsonNode b2 = json.readTree(snapshot.state()).at("/pools/0/backends/1");
    assertThat(b1.get("service").asText()).isEqualTo("quota_exceeded");
    assertThat(b1.get("quota")).isEqualTo(json.readTree("""
        {"state":"QUOTA_EXCEEDED","used":1000,"budget":1000,"threshold":90,"hours":5,"next_probe_seconds":500,
         "cap_error":"insufficient_quota"}"""));
    assertThat(b1.at("/fields/tpm").toString()).as("available of the limit, as a gauge").isEqualTo("[99000,100000]");
    assertThat(b1.at("/fields/provider_requests_left").toString()).isEqualTo("[42]");
    assertThat(b1.get("fields").has("provider_tokens_left")).as("a count the provider never sent").isFalse();
    assertThat(b2.has("quota")).as("no budget and within quota: no bar").isFalse();
    assertThat(b2.get("fields").has("tpm")).isFalse();
    assertThat(json.readTree(snapshot.fields())).extracting(f -> f.get("name").asText())
        .endsWith("tpm", "provider_requests_left");
  }

  private static BackendSnapshot backend(String id, QuotaSnapshot quota, long tpm, long tpmAvailable,
      long requestsLeft, long tokensLeft) {
    return new BackendSnapshot(id, "nvidia", URI.create("http://127.0.0.1:1/v1"), true, 40, 40, 40,
        new RetreatSnapshot(RetreatState.NORMAL, 40, 40, 0.0, 0), 0, 0, Optional.empty(), 8, false, 0, 0,
        Optional.empty(), Map.of(), 0, quota, tpm, tpmAvailable, requestsLeft, tokensLeft);
  }

  @Test
  void poolsCarryTheirFailoverCountersAndTheRetryBudgetsWindow() throws Exception {
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(new FakePool("nvidia", 1)), traffic, events);

    JsonNode pool = json.readTree(builder.build().state()).at("/pools/0");

    assertThat(pool.at("/totals/spilled").asLong()).isZero();
    assertThat(pool.at("/totals/sent_to_emergency").asLong()).isZero();
    assertThat(pool.at("/totals/no_backend").asLong()).isZero();
    assertThat(pool.get("retry_budget").toString()).isEqualTo("{\"first_attempts\":10,\"retries\":0}");
  }

  @Test
  void fieldLabelsAreListedOnceHoweverManyBackends() throws Exception {
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(new FakePool("nvidia", 50)), traffic, events);

    SnapshotBuilder.Snapshot snapshot = builder.build();

    assertThat(json.readTree(snapshot.fields())).hasSize(FIELDS.length);
    assertThat(new String(snapshot.state(), StandardCharsets.UTF_8)).doesNotContain("tokens available");
  }

  /** The figures the README quotes; the bounds keep a frame small as fields are added. */
  @Test
  void framesStaySmall() {
    int one = frameBytes(1, false);
    int fifty = frameBytes(50, false);
    System.out.printf("dashboard frame: %d bytes with 1 backend, %d bytes with 50 backends; "
        + "%d and %d bytes when it also carries the field labels%n", one, fifty, frameBytes(1, true),
        frameBytes(50, true));
    assertThat(one).isLessThan(1_500);
    assertThat(fifty).isLessThan(25_000);
  }

  private int frameBytes(int backends, boolean withFields) {
    SnapshotBuilder builder = new SnapshotBuilder(clock, List.of(new FakePool("nvidia", backends)), traffic, events);
    return Feed.frame(builder.build(), withFields).length;
  }

  private static Outcome outcome(String pool, int status, Outcome.Failure failure, long queueMillis) {
    return new Outcome("r", "POST", "/v1/chat/completions", Optional.of(pool), Optional.of(pool), Optional.empty(),
        Priority.NORMAL, false, status, failure, queueMillis * 1_000_000, 0, 0, 0, 0, 0, 1, Optional.empty(),
        List.of());
  }
}
