package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The guard report on a run made up by hand: a budget of 10,000 tokens per 120 s window, threshold 99 %, one probe
 * every 30 s, readings every second for 300 s. The sim accepted a request every 2 s up to 59.5 s; the guard tripped
 * on usage at 60.2 s; probes at 90.4 s and 120.6 s got the provider's quota error (Sluice says "quota exceeded"
 * again each time), the probe at 150.8 s was accepted and the backend was back at 150.81 s, after which a request
 * was accepted every 2 s again.
 */
class GuardReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long S = 1_000_000_000L;
  private static final long START_WALL = Instant.parse("2026-12-02T10:00:00Z").toEpochMilli();
  private static final GuardReport.Settings SETTINGS = new GuardReport.Settings(300, 10_000, 99, 30, 120);

  /** One upstream request: when (s), and whether the sim accepted it (else its quota error). */
  private record Req(double at, boolean accepted) {}

  private static List<Req> requests(double... extraRefused) {
    List<Req> requests = new ArrayList<>();
    for (double t = 0.5; t < 60; t += 2) {
      requests.add(new Req(t, true));
    }
    requests.add(new Req(90.4, false));
    requests.add(new Req(120.6, false));
    requests.add(new Req(150.8, true));
    for (double t = 151.5; t < 300; t += 2) {
      requests.add(new Req(t, true));
    }
    for (double t : extraRefused) {
      requests.add(new Req(t, false));
    }
    return requests;
  }

  /** A reading every second: the sim's counters so far, and Sluice's admin quota entry. */
  private static List<Sample> samples(List<Req> requests, double tripAt, double recoverAt) {
    List<Sample> samples = new ArrayList<>();
    for (int second = 0; second <= 300; second++) {
      int k = second;
      long accepted = requests.stream().filter(r -> r.at() < k && r.accepted()).count();
      long refused = requests.stream().filter(r -> r.at() < k && !r.accepted()).count();
      ObjectNode sim = JSON.createObjectNode();
      sim.put("accepted", accepted);
      sim.put("accepted_tokens", accepted * 330);
      sim.put("rejected_429", refused);
      sim.put("rejected_by_quota", refused);
      sim.put("budget_window_tokens", Math.min(10_000, accepted * 330));
      ObjectNode sluice = JSON.createObjectNode();
      sluice.put("backend", "key-1");
      sluice.put("state", k > tripAt && k < recoverAt ? "QUOTA_EXCEEDED" : "WITHIN_QUOTA");
      sluice.put("window_usage_tokens", Math.min(10_000, accepted * 330));
      sluice.put("probes", requests.stream().filter(r -> r.at() > tripAt && r.at() < k && r.at() < recoverAt + 0.1)
          .count());
      ObjectNode body = JSON.createObjectNode();
      body.set("sim", sim);
      body.set("sluice", sluice);
      samples.add(new Sample(k * S, body));
    }
    return samples;
  }

  private static String logLine(double at, String msg) {
    return "{\"ts\":\"" + Instant.ofEpochMilli(START_WALL + Math.round(at * 1000)) + "\",\"level\":\"INFO\","
        + "\"logger\":\"sluice.backend\",\"msg\":\"" + msg + "\",\"pool\":\"p\",\"backend\":\"key-1\"}";
  }

  /** Sluice's log: other lines, the trip, "quota exceeded" again for each refused probe, the recovery. */
  private static List<String> log(double recoverAt, String recovery) {
    List<String> lines = new ArrayList<>(List.of(
        "{\"ts\":\"2026-12-02T10:00:00.100Z\",\"level\":\"INFO\",\"logger\":\"sluice.request\",\"msg\":\"request\"}",
        "sluice: not JSON",
        logLine(60.2, "backend quota exceeded: 9900 tokens in the last 2 min, 99.0 % of the budget of 10000")));
    for (double refused : new double[] {90.41, 120.61}) {
      if (refused < recoverAt) {
        lines.add(logLine(refused,
            "backend quota exceeded: the provider answered 429 with its quota error; one probe every 30 s"));
      }
    }
    lines.add(logLine(recoverAt, "backend within quota again: " + recovery));
    return lines;
  }

  private static GuardReport.Rendered render(List<Req> requests, double recoverAt, String recovery) {
    List<GuardReport.Transition> transitions = GuardReport.fromLog(log(recoverAt, recovery), START_WALL);
    return GuardReport.render(SETTINGS, "### B", List.of(), samples(requests, 60.2, recoverAt), null, transitions,
        "Sluice's log");
  }

  @Test
  void fromLog_takesTheGuardsChangesAtTheirInstants() {
    List<GuardReport.Transition> t = GuardReport.fromLog(log(150.81, "the probe was accepted"), START_WALL);

    assertThat(t).hasSize(4);
    assertThat(t.get(0).offsetNanos()).isEqualTo(60_200_000_000L);
    assertThat(t.get(0).exceeded()).isTrue();
    assertThat(t.get(0).usageTrip()).isTrue();
    assertThat(t.get(0).usageTokens()).isEqualTo(9_900);
    assertThat(t.get(1).usageTrip()).isFalse();
    assertThat(t.get(3).exceeded()).isFalse();
    assertThat(t.get(3).message()).isEqualTo("within quota again: the probe was accepted");
  }

  @Test
  void spans_countTheRequestsWhileExceeded_andTheProbeThatRestoredIt() {
    List<GuardReport.Transition> t = GuardReport.fromLog(log(150.81, "the probe was accepted"), START_WALL);

    List<GuardReport.Span> spans = GuardReport.spans(t, samples(requests(), 60.2, 150.81));

    assertThat(spans).hasSize(1);
    GuardReport.Span span = spans.getFirst();
    assertThat(span.startNanos()).isEqualTo(60_200_000_000L);
    assertThat(span.recovered()).isTrue();
    assertThat(span.hits()).containsExactly(new GuardReport.Hit(90 * S, 91 * S, 1, 0),
        new GuardReport.Hit(120 * S, 121 * S, 1, 0), new GuardReport.Hit(150 * S, 150_810_000_000L, 1, 1));
    assertThat(span.sluiceProbes()).isEqualTo(3);
  }

  @Test
  void aRestoringProbeThatAReadingSaw_isCountedOnce() {
    List<GuardReport.Transition> t = GuardReport.fromLog(log(151.2, "the probe was accepted"), START_WALL);

    List<GuardReport.Span> spans = GuardReport.spans(t, samples(requests(), 60.2, 151.2));

    assertThat(spans.getFirst().hits()).containsExactly(new GuardReport.Hit(90 * S, 91 * S, 1, 0),
        new GuardReport.Hit(120 * S, 121 * S, 1, 0), new GuardReport.Hit(150 * S, 151 * S, 1, 1));
    assertThat(GuardReport.probeRule(SETTINGS, spans).pass()).isTrue();
  }

  @Test
  void aGuardThatKeepsTheRule_passesEveryCheck() {
    GuardReport.Rendered r = render(requests(), 150.81, "the probe was accepted");

    assertThat(r.markdown()).contains("1. **trips at the threshold: PASS** — first trip at 60.2 s (on usage); "
            + "Sluice's window usage 9,900, threshold 9,900 (99 % of 10,000)")
        .contains("quota errors from the provider before it: 0")
        .contains("2. **never beyond the probe rule: PASS** — 3 upstream requests in 1 exceeded spans")
        .contains("3. **probes every probe interval: PASS**")
        .contains("4. **recovers when the window slides: PASS** — the provider's window starts to slide at 121.0 s")
        .contains("the first after the window began to slide with requests accepted after it: 150.8 s (within quota "
            + "again: the probe was accepted), then 75 requests accepted before the end at 300.0 s")
        .contains("Judged: 4 PASS, 0 FAIL");
    assertThat(r.passes()).isEqualTo(4);
  }

  @Test
  void aRequestBetweenTwoProbes_breaksTheProbeRule() {
    GuardReport.Rendered r = render(requests(100.5), 150.81, "the probe was accepted");

    assertThat(r.markdown()).contains("2. **never beyond the probe rule: FAIL** — span 1: requests in 90.0..91.0 s "
        + "and 100.0..101.0 s, less than 30 s apart");
  }

  @Test
  void twoRequestsInOneReading_orOneTooSoonAfterTheTrip_breakTheProbeRule() {
    GuardReport.Rendered r = render(requests(65.2, 65.7), 150.81, "the probe was accepted");

    assertThat(r.markdown()).contains("span 1: 2 requests between 65.0 s and 66.0 s")
        .contains("span 1: a request by 66.0 s, less than 30 s after the trip at 60.2 s");
  }

  @Test
  void aMissedProbe_failsTheProbingCheck() {
    List<Req> requests = new ArrayList<>(requests());
    requests.removeIf(q -> q.at() == 120.6);

    GuardReport.Rendered r = render(requests, 150.81, "the probe was accepted");

    assertThat(r.markdown()).contains("3. **probes every probe interval: FAIL** — no request for longer than a probe "
        + "interval + 5 s: span 1: 91.0 s to 150.0 s");
  }

  @Test
  void aRecoveryBeforeTheWindowSlides_isNotTheOneAsked() {
    List<Req> requests = new ArrayList<>(requests());
    requests.removeIf(q -> q.at() > 100);
    requests.add(new Req(100.2, true));

    GuardReport.Rendered r = render(requests, 100.21, "the probe was accepted");

    assertThat(r.markdown()).contains("4. **recovers when the window slides: FAIL**")
        .contains("1 recoveries (0 as usage slid below the threshold, 1 by an accepted probe); the first after the "
            + "window began to slide with requests accepted after it: none");
  }

  @Test
  void withoutTheLog_theReadingsGiveTheChanges() throws Exception {
    List<Sample> samples = samples(requests(), 60.2, 150.81);

    List<GuardReport.Transition> t = GuardReport.fromSamples(samples);

    assertThat(t).hasSize(2);
    assertThat(t.get(0).offsetNanos()).isEqualTo(61 * S);
    assertThat(t.get(0).earliestNanos()).isEqualTo(60 * S);
    assertThat(t.get(1).exceeded()).isFalse();
    assertThat(t.get(1).offsetNanos()).isEqualTo(151 * S);
    assertThat(GuardReport.exceeded(JSON.createObjectNode().set("pools", JSON.readTree(
        "[{\"backends\":[{\"state\":\"quota_exceeded\"}]}]")))).isTrue();
  }
}
