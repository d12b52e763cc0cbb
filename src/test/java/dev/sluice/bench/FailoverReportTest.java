package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.bench.FailoverReport.Answer;
import dev.sluice.bench.FailoverReport.Cause;
import dev.sluice.bench.FailoverReport.Counts;
import dev.sluice.bench.FailoverReport.KeyLoss;
import dev.sluice.bench.FailoverReport.Reading;
import dev.sluice.bench.FailoverReport.Settings;
import dev.sluice.bench.FailoverReport.Window;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The failover report's arithmetic on a run small enough to check by hand: four 60 s windows, three keys of 40 RPM,
 * the first key refusing connections from 90 s (its sim cannot be read after that), the second answering 401 from
 * 150 s; a dozen requests whose outcomes cover every cause.
 */
class FailoverReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long S = 1_000_000_000L;
  private static final int URGENT = 0;
  private static final int HIGH = 1;
  private static final int NORMAL = 2;
  private static final int LOW = 3;

  private static final Settings SETTINGS = new Settings(240, 60, 3, 40,
      List.of(new KeyLoss(90 * S, "sim 1 refuses connections"), new KeyLoss(150 * S, "sim 2 answers 401")),
      95, 2, 2000, 0);

  /** A sim's counters: accepted, 429s, 401s. */
  private static JsonNode sim(long accepted, long rejected429, long unauthorized) {
    return JSON.createObjectNode().put("accepted", accepted).put("rejected_429", rejected429)
        .put("unauthorized", unauthorized);
  }

  private static Reading reading(long seconds, int boundary, JsonNode... sims) {
    return new Reading(seconds * S, boundary, boundary >= 0 ? "boundary " + boundary : "event", Arrays.asList(sims));
  }

  private static final List<Reading> READINGS = List.of(
      reading(0, 0, sim(0, 0, 0), sim(0, 0, 0), sim(0, 0, 0)),
      reading(60, 1, sim(40, 0, 0), sim(40, 1, 0), sim(39, 0, 0)),
      reading(90, -1, sim(60, 0, 0), sim(60, 1, 0), sim(59, 0, 0)),
      reading(120, 2, null, sim(80, 1, 0), sim(79, 0, 0)),
      reading(150, -1, null, sim(100, 1, 0), sim(99, 0, 0)),
      reading(180, 3, null, sim(100, 1, 3), sim(119, 2, 0)),
      reading(240, 4, null, sim(100, 1, 4), sim(159, 2, 0)),
      reading(300, -1, null, sim(100, 1, 5), sim(199, 2, 0)));

  private static Answer ok(double sendSeconds, int priority, double latencySeconds, double queueMillis) {
    return new Answer((long) (sendSeconds * S), 0, priority, 200, "", (long) (latencySeconds * S), queueMillis, true,
        "", "");
  }

  private static Answer refused(double sendSeconds, int priority, int status, String code) {
    return refusedAfter(sendSeconds, priority, status, code, "");
  }

  /** Refused after Sluice retried it: {@code retried} as its log says what the failed attempts got. */
  private static Answer refusedAfter(double sendSeconds, int priority, int status, String code, String retried) {
    return new Answer((long) (sendSeconds * S), 0, priority, status, code, S, -1, true, "", retried);
  }

  private static Answer none(double sendSeconds, int priority, String failure) {
    return new Answer((long) (sendSeconds * S), 0, priority, 0, "", -1, -1, false, failure, "");
  }

  private static final List<Answer> ANSWERS = List.of(
      ok(10, URGENT, 2.5, 500),
      ok(58, NORMAL, 3, 1000),          // sent in window 1, answered at 61 s: goodput of window 2
      refused(70, LOW, 429, "rate_limited"),
      refusedAfter(95, LOW, 429, "rate_limited", "reset"), // its attempt was cut by the refusing key
      ok(100, URGENT, 4.5, 2500),
      ok(110, URGENT, 2.1, 100),
      refused(155, NORMAL, 401, "invalid_api_key"),
      ok(170, HIGH, 2, 0),
      refused(200, HIGH, 503, "no_backend_available"),
      none(210, NORMAL, "HttpTimeoutException"),
      none(220, HIGH, "IOException"),
      refused(230, HIGH, 429, "rate_limit_exceeded"),
      refused(231, LOW, 503, "queue_full"),
      refused(232, NORMAL, 502, "upstream_connect_failed"));

  @Test
  void allowance_isWhatTheLiveKeysAllow_timeWeightedWhereAKeyIsLost() {
    List<Long> losses = List.of(90 * S, 150 * S);

    assertThat(FailoverReport.allowanceRpm(0, 60 * S, 3, 40, losses)).isEqualTo(120);
    assertThat(FailoverReport.allowanceRpm(60 * S, 120 * S, 3, 40, losses)).isEqualTo(100); // 30 s x 120, 30 s x 80
    assertThat(FailoverReport.allowanceRpm(120 * S, 180 * S, 3, 40, losses)).isEqualTo(60); // 30 s x 80, 30 s x 40
    assertThat(FailoverReport.allowanceRpm(180 * S, 240 * S, 3, 40, losses)).isEqualTo(40);
    // two losses in one window: 30 s x 120 + 15 s x 80 + 15 s x 40 over 60 s
    assertThat(FailoverReport.allowanceRpm(0, 60 * S, 3, 40, List.of(30 * S, 45 * S))).isEqualTo(90);
    // a loss at a window's end does not touch it
    assertThat(FailoverReport.allowanceRpm(0, 60 * S, 3, 40, List.of(60 * S))).isEqualTo(120);
  }

  @Test
  void windows_countGoodputByAnswerTime_andUpstream429sOverTheAttemptsAllSimsSaw() {
    List<Window> w = FailoverReport.windows(SETTINGS, ANSWERS, READINGS);

    assertThat(w).extracting(Window::allowanceRpm).containsExactly(120.0, 100.0, 60.0, 40.0);
    assertThat(w).extracting(Window::liveKeysAtStart).containsExactly(3, 3, 2, 1);
    assertThat(w).extracting(Window::liveKeysAtEnd).containsExactly(3, 2, 1, 1);
    assertThat(w).extracting(Window::ok).containsExactly(1, 3, 1, 0);
    assertThat(w).extracting(Window::sent).containsExactly(2, 4, 2, 6);
    // window 2: sim 1 counts from its reading at 90 s, the last before it refused connections
    assertThat(w).extracting(Window::upstream).containsExactly(new Counts(119, 1, 0), new Counts(100, 0, 0),
        new Counts(60, 2, 3), new Counts(40, 0, 1));
    assertThat(w.get(1).carried()).containsExactly(1);
    assertThat(w.get(0).carried()).isEmpty();
    assertThat(w.get(0).upstream().share429()).isCloseTo(1 / 120.0, within(1e-12));
    assertThat(w.get(2).upstream().share429()).isCloseTo(2 / 65.0, within(1e-12));
  }

  @Test
  void errors_areListedByStatusAndCode_andTheKeysAreBlamedOnlyForWhatTheyCause() {
    List<Window> w = FailoverReport.windows(SETTINGS, ANSWERS, READINGS);

    assertThat(w.get(1).errors()).containsExactly(Map.entry("429 rate_limited", 1),
        Map.entry("429 rate_limited after reset", 1));
    assertThat(w.get(1).causes()).containsExactly(Map.entry(Cause.KEYS, 1), Map.entry(Cause.SHAPING, 1));
    assertThat(w.get(2).errors()).isEqualTo(Map.of("401 invalid_api_key", 1));
    assertThat(w.get(2).keyErrors()).isEqualTo(1);
    assertThat(w.get(3).errors()).containsExactly(Map.entry("429 rate_limit_exceeded", 1),
        Map.entry("502 upstream_connect_failed", 1), Map.entry("503 no_backend_available", 1),
        Map.entry("503 queue_full", 1), Map.entry("no answer (HttpTimeoutException)", 1),
        Map.entry("reset (IOException)", 1));
    assertThat(w.get(3).causes()).containsExactly(Map.entry(Cause.KEYS, 3), Map.entry(Cause.SHAPING, 1),
        Map.entry(Cause.NO_ANSWER, 1), Map.entry(Cause.OTHER, 1));
    assertThat(FailoverReport.cause(refused(1, LOW, 503, "evicted"))).isEqualTo(Cause.SHAPING);
    assertThat(FailoverReport.cause(refused(1, LOW, 403, ""))).isEqualTo(Cause.KEYS);
    assertThat(FailoverReport.cause(refused(1, LOW, 504, "upstream_timeout"))).isEqualTo(Cause.KEYS);
    assertThat(FailoverReport.cause(none(1, LOW, "interrupted"))).isEqualTo(Cause.NO_ANSWER);
    assertThat(FailoverReport.cause(ok(1, LOW, 2, 0))).isNull();
    assertThat(FailoverReport.cause(refusedAfter(1, LOW, 429, "rate_limit_exceeded", "429,429")))
        .isEqualTo(Cause.OTHER);
    assertThat(FailoverReport.cause(refusedAfter(1, LOW, 429, "rate_limited", "429,connect"))).isEqualTo(Cause.KEYS);
  }

  @Test
  void urgentWait_isTheNearestRankPercentileOfTheQueueHeader_bySendWindow() {
    List<Window> w = FailoverReport.windows(SETTINGS, ANSWERS, READINGS);

    assertThat(w.get(0).urgentWaits()).isEqualTo(1);
    assertThat(w.get(1).urgentWaits()).isEqualTo(2);
    assertThat(w.get(1).urgentP50Millis()).isEqualTo(100);
    assertThat(w.get(1).urgentP99Millis()).isEqualTo(2500);
    assertThat(w.get(3).urgentWaits()).isZero();
    assertThat(w.get(3).urgentP99Millis()).isNaN();
  }

  @Test
  void verdicts_spareOnlyTheFirstWindowsGoodput() {
    List<Window> w = FailoverReport.windows(SETTINGS, ANSWERS, READINGS);
    List<String[]> verdicts = new ArrayList<>();
    w.forEach(window -> verdicts.add(FailoverReport.verdicts(SETTINGS, window)));

    assertThat(verdicts.get(0)).containsExactly("(MISS)", "PASS", "PASS", "PASS");
    assertThat(verdicts.get(1)).containsExactly("MISS", "PASS", "MISS", "MISS");
    assertThat(verdicts.get(2)).containsExactly("MISS", "MISS", "MISS", "n/a");
    assertThat(verdicts.get(3)).containsExactly("MISS", "PASS", "MISS", "n/a");
  }

  @Test
  void render_writesOneRowPerWindowAndTheWholeRunFromTheFirstReadingToTheLast() {
    String md = FailoverReport.render(SETTINGS, "heading", List.of("t=90.001s sim 1 refuses connections"), ANSWERS,
        READINGS, List.of()).markdown();

    assertThat(md.lines()).contains(
        "- event: t=90.001s sim 1 refuses connections",
        "| 3 | 2→1 | 60 | 1 | 1.7 | 65 | 2 | 3.1 | 3 | 2 | 1 | 401 invalid_api_key: 1 | 1 | - | - | MISS | MISS "
            + "| MISS | n/a |",
        "- note: min 2 counts sim 1 with its reading from before it stopped answering (it refuses connections, so it "
            + "sees no attempts).",
        "Whole run (0 s to 300.0 s, event): upstream attempts the sims saw 367 = 359 accepted + 3 429s + 5 401s; "
            + "upstream 429 share 0.82 %. Callers: 14 sent, 5 answered 200; errors: 401 invalid_api_key: 1, 429 "
            + "rate_limit_exceeded: 1, 429 rate_limited: 1, 429 rate_limited after reset: 1, 502 "
            + "upstream_connect_failed: 1, 503 no_backend_available: 1, 503 queue_full: 1, no answer "
            + "(HttpTimeoutException): 1, reset (IOException): 1; by cause: dead or refusing keys 5, more offered than "
            + "the live keys allow 2, no answer 1, other 1.");
    assertThat(md).contains("Judged: 5 PASS, 8 MISS");
  }
}
