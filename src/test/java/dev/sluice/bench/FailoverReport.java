package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The failover benchmark's report ({@link FailoverLoad}, bench/failover.sh), computed from the raw data alone so
 * that every figure can be checked by hand. Per window:
 *
 * <ul>
 *   <li><b>allowance</b>: what the live keys allow, {@code keyRpm} per key still in service, time-weighted where a
 *       key is lost inside the window (a 60 s window losing its third key at 30 s: {@code (30 × 120 + 30 × 80) / 60
 *       = 100} RPM);
 *   <li><b>goodput</b>: the 200s whose answer arrived in the window (intended send + latency), per minute;
 *   <li><b>upstream 429 share</b>: the sims' 429s over the upstream attempts they saw (accepted + 429 + 401), the
 *       deltas of their counters between the window's boundary readings, summed over the sims. A sim that cannot be
 *       read (it refuses connections) counts with its last reading: while it refuses it sees no attempts;
 *   <li><b>client-visible errors</b> of the requests sent in the window, by status and code, each with its
 *       {@link Cause};
 *   <li><b>urgent queue wait</b>: p50 and p99 (nearest rank) of {@code X-Sluice-Queue-Ms} over the urgent requests
 *       sent in the window that carried it.
 * </ul>
 *
 * Targets: goodput ≥ {@code targetGoodputPct} % of the allowance in every window after the first; in every window,
 * the upstream 429 share ≤ {@code target429Pct} %, at most {@code targetKeyErrors} errors caused by the keys, the
 * urgent p99 ≤ {@code targetUrgentP99Millis}. A target of -1 is reported without being judged.
 *
 * <p>Stateless: every method is a function of its arguments; safe from any thread.
 */
final class FailoverReport {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Sluice's own answers to more load than the live keys can take. */
  private static final Set<String> SHAPING_503_CODES = Set.of("queue_full", "evicted");
  /** A status sample further than this from a window's end is not shown for it. */
  private static final long STATUS_NEAR_NANOS = 3 * NANOS_PER_SECOND;

  private FailoverReport() {}

  /** Why a caller did not get a 200. */
  enum Cause {
    /**
     * The dead or refusing keys: a 401 or 403, a 5xx that is not Sluice's queue refusing load (502 connect failure,
     * 504, 503 {@code no_backend_available}), a connection to Sluice that broke without an answer, or any other
     * refusal of a request whose attempt had failed on a key (Sluice's log says it was retried after a reset, a
     * refused connection, a 401, ...): that attempt would otherwise have answered it.
     */
    KEYS("dead or refusing keys"),
    /** Sluice refusing what the live keys cannot take: 429 {@code rate_limited}, 503 {@code queue_full} or
     * {@code evicted}. */
    SHAPING("more offered than the live keys allow"),
    /** No answer within the client's timeout. */
    NO_ANSWER("no answer"),
    /** Anything else, such as an upstream 429 passed on once the attempts ran out. */
    OTHER("other");

    final String words;

    Cause(String words) {
      this.words = words;
    }
  }

  /**
   * One request as the caller saw it.
   *
   * @param offsetNanos intended send instant, from the run's start
   * @param sendLagNanos how late it was actually sent
   * @param priority index into {@link Schedule#PRIORITIES}
   * @param status HTTP status; 0 without an answer
   * @param code the OpenAI error's {@code code}, "" if none
   * @param latencyNanos from the intended send to the whole answer; -1 without an answer
   * @param queueMillis {@code X-Sluice-Queue-Ms}; -1 when absent
   * @param answered whether an answer arrived
   * @param failure the exception's simple name when none did ("" otherwise)
   * @param retried what Sluice's log says each retried attempt got ({@code "reset"}, {@code "connect"},
   *     {@code "401"}, {@code "429"}, ...), comma-separated; "" when none was retried or the log was not read
   */
  record Answer(long offsetNanos, long sendLagNanos, int priority, int status, String code, long latencyNanos,
      double queueMillis, boolean answered, String failure, String retried) {
    /** Whether Sluice retried it after an attempt failed for something other than a 429 (a failing key). */
    boolean retriedAfterKeyFailure() {
      return !retried.isEmpty() && Arrays.stream(retried.split(",")).anyMatch(r -> !r.equals("429"));
    }
  }

  /**
   * One reading of every sim's {@code /sim/stats}.
   *
   * @param offsetNanos when, from the run's start
   * @param boundary the window boundary it stands for (0 = the start), or -1 (before an event, after the drain)
   * @param label what it was taken for
   * @param bodies one per sim, in order; null where that sim could not be read
   */
  record Reading(long offsetNanos, int boundary, String label, List<JsonNode> bodies) {}

  /** A status reading of Sluice ({@code /status}); {@code body} null when it could not be read. */
  record StatusReading(long offsetNanos, JsonNode body) {}

  /** A key taken out of service at {@code atNanos} from the run's start, in words. */
  record KeyLoss(long atNanos, String what) {}

  /** The run's shape and targets; a target of -1 is not judged. */
  record Settings(int durationSeconds, int windowSeconds, int keys, int keyRpm, List<KeyLoss> losses,
      double targetGoodputPct, double target429Pct, double targetUrgentP99Millis, int targetKeyErrors) {
    long windowNanos() {
      return windowSeconds * NANOS_PER_SECOND;
    }

    int windows() {
      return durationSeconds / windowSeconds;
    }

    List<Long> lossNanos() {
      return losses.stream().map(KeyLoss::atNanos).toList();
    }
  }

  /** Upstream attempts the sims saw: accepted, answered 429, answered 401 (the key rejected). */
  record Counts(long accepted, long rejected429, long unauthorized) {
    static final Counts ZERO = new Counts(0, 0, 0);

    static Counts of(JsonNode stats) {
      return new Counts(stats.path("accepted").asLong(), stats.path("rejected_429").asLong(),
          stats.path("unauthorized").asLong());
    }

    long attempts() {
      return accepted + rejected429 + unauthorized;
    }

    /** 429s over attempts; 0 without attempts. */
    double share429() {
      return attempts() == 0 ? 0 : (double) rejected429 / attempts();
    }

    Counts plus(Counts o) {
      return new Counts(accepted + o.accepted, rejected429 + o.rejected429, unauthorized + o.unauthorized);
    }

    Counts minus(Counts o) {
      return new Counts(accepted - o.accepted, rejected429 - o.rejected429, unauthorized - o.unauthorized);
    }
  }

  /**
   * One window's figures.
   *
   * @param upstream the sims' deltas over the window, null when a sim was never read by its end
   * @param carried the sims that could not be read at a boundary and count with an earlier reading (1-based)
   * @param errors non-200 outcomes of the requests sent in the window: "status code" (or "no answer (failure)") → n
   * @param causes the same by cause
   * @param urgentP50Millis NaN without an urgent wait
   */
  record Window(int number, long startNanos, long endNanos, int liveKeysAtStart, int liveKeysAtEnd,
      double allowanceRpm, int ok, double goodputRpm, Counts upstream, List<Integer> carried, int sent, int sentOk,
      Map<String, Integer> errors, Map<Cause, Integer> causes, int urgentWaits, double urgentP50Millis,
      double urgentP99Millis, long maxSendLagNanos) {
    int keyErrors() {
      return causes.getOrDefault(Cause.KEYS, 0);
    }

    double goodputShare() {
      return allowanceRpm == 0 ? 0 : goodputRpm / allowanceRpm;
    }
  }

  /**
   * What the live keys allow over {@code [startNanos, endNanos)} in requests per minute: {@code keyRpm} for each of
   * the {@code keys} not yet lost, weighted by the time each was in service.
   */
  static double allowanceRpm(long startNanos, long endNanos, int keys, int keyRpm, List<Long> lossNanos) {
    long span = endNanos - startNanos;
    double keyNanos = (double) keys * span;
    for (long loss : lossNanos) {
      keyNanos -= Math.max(0, endNanos - Math.max(startNanos, loss));
    }
    return keyRpm * Math.max(0, keyNanos) / span;
  }

  /** Keys in service at {@code atNanos} (a loss at exactly that instant counts as lost). */
  static int liveKeys(long atNanos, int keys, List<Long> lossNanos) {
    return keys - (int) lossNanos.stream().filter(loss -> loss <= atNanos).count();
  }

  /** The cause of a non-200 outcome; null for a 200. */
  static Cause cause(Answer a) {
    if (!a.answered()) {
      return switch (a.failure()) {
        case "HttpTimeoutException", "interrupted", "" -> Cause.NO_ANSWER;
        default -> Cause.KEYS; // the connection to Sluice broke: a reset relayed, or worse
      };
    }
    int s = a.status();
    if (s == 200) {
      return null;
    }
    if (s == 401 || s == 403 || a.retriedAfterKeyFailure()) {
      return Cause.KEYS;
    }
    if (s == 429 && a.code().equals("rate_limited") || s == 503 && SHAPING_503_CODES.contains(a.code())) {
      return Cause.SHAPING;
    }
    if (s >= 500 && !a.code().equals("shutting_down")) {
      return Cause.KEYS;
    }
    return Cause.OTHER;
  }

  /**
   * How an outcome is listed among the errors: "503 no_backend_available", "no answer (HttpTimeoutException)", "429
   * rate_limited after reset" (Sluice retried it after a failed attempt).
   */
  static String errorKey(Answer a) {
    if (!a.answered()) {
      String failure = a.failure().isEmpty() ? "cancelled" : a.failure();
      return (cause(a) == Cause.KEYS ? "reset (" : "no answer (") + failure + ")";
    }
    return a.status() + " " + (a.code().isEmpty() ? "-" : a.code())
        + (a.retried().isEmpty() ? "" : " after " + a.retried());
  }

  /**
   * Every sim's counters as of reading {@code index}: each sim's latest readable reading at or before it, or null if
   * one of them was never read by then. Sims read from an earlier reading are added to {@code carried} (1-based).
   */
  static Counts countsAt(List<Reading> readings, int index, List<Integer> carried) {
    Counts sum = Counts.ZERO;
    int sims = readings.get(index).bodies().size();
    for (int sim = 0; sim < sims; sim++) {
      JsonNode latest = null;
      for (int k = index; k >= 0 && latest == null; k--) {
        List<JsonNode> bodies = readings.get(k).bodies();
        latest = sim < bodies.size() ? bodies.get(sim) : null;
        if (latest != null && k != index && !carried.contains(sim + 1)) {
          carried.add(sim + 1);
        }
      }
      if (latest == null) {
        return null;
      }
      sum = sum.plus(Counts.of(latest));
    }
    return sum;
  }

  /** The windows of a run; {@code readings} in time order, with one reading per window boundary. */
  static List<Window> windows(Settings s, List<Answer> answers, List<Reading> readings) {
    List<Long> losses = s.lossNanos();
    List<Window> out = new ArrayList<>();
    for (int w = 0; w < s.windows(); w++) {
      long ws = w * s.windowNanos();
      long we = ws + s.windowNanos();
      int ok = 0;
      int sent = 0;
      int sentOk = 0;
      long maxLag = 0;
      Map<String, Integer> errors = new TreeMap<>();
      Map<Cause, Integer> causes = new EnumMap<>(Cause.class);
      List<Double> urgentWaits = new ArrayList<>();
      for (Answer a : answers) {
        if (a.answered() && a.status() == 200) {
          long at = a.offsetNanos() + a.latencyNanos();
          if (at >= ws && at < we) {
            ok++;
          }
        }
        if (a.offsetNanos() < ws || a.offsetNanos() >= we) {
          continue;
        }
        sent++;
        maxLag = Math.max(maxLag, a.sendLagNanos());
        Cause cause = cause(a);
        if (cause == null) {
          sentOk++;
        } else {
          errors.merge(errorKey(a), 1, Integer::sum);
          causes.merge(cause, 1, Integer::sum);
        }
        if (a.priority() == Schedule.URGENT && a.queueMillis() >= 0) {
          urgentWaits.add(a.queueMillis());
        }
      }
      urgentWaits.sort(null);
      List<Integer> carried = new ArrayList<>();
      int from = boundaryIndex(readings, w);
      int to = boundaryIndex(readings, w + 1);
      Counts upstream = null;
      if (from >= 0 && to >= 0) {
        Counts c0 = countsAt(readings, from, carried);
        Counts c1 = countsAt(readings, to, carried);
        upstream = c0 == null || c1 == null ? null : c1.minus(c0);
      }
      carried.sort(null);
      out.add(new Window(w + 1, ws, we, liveKeys(ws, s.keys(), losses), liveKeys(we - 1, s.keys(), losses),
          allowanceRpm(ws, we, s.keys(), s.keyRpm(), losses), ok, ok * 60.0 / (s.windowNanos() / 1e9), upstream,
          carried, sent, sentOk, errors, causes, urgentWaits.size(), Percentile.nearestRank(urgentWaits, 0.50),
          Percentile.nearestRank(urgentWaits, 0.99), maxLag));
    }
    return out;
  }

  /** The verdicts of one window: goodput, 429 share, key errors, urgent p99; null where a target is off. */
  static String[] verdicts(Settings s, Window w) {
    boolean first = w.number() == 1;
    String goodput = s.targetGoodputPct() < 0 ? "-"
        : first ? "(" + pm(w.goodputRpm() >= s.targetGoodputPct() / 100 * w.allowanceRpm()) + ")"
        : pm(w.goodputRpm() >= s.targetGoodputPct() / 100 * w.allowanceRpm());
    String share = s.target429Pct() < 0 ? "-"
        : pm(w.upstream() != null && w.upstream().share429() * 100 <= s.target429Pct());
    String keys = s.targetKeyErrors() < 0 ? "-" : pm(w.keyErrors() <= s.targetKeyErrors());
    String urgent = s.targetUrgentP99Millis() < 0 ? "-"
        : w.urgentWaits() == 0 ? "n/a" : pm(w.urgentP99Millis() <= s.targetUrgentP99Millis());
    return new String[] {goodput, share, keys, urgent};
  }

  /** The report as markdown and as JSON. */
  record Rendered(String markdown, ObjectNode json) {}

  /**
   * The report: a header, the events, one table row per window, the whole run (first reading to the last, the drain
   * included) and the targets' tally.
   */
  static Rendered render(Settings s, String heading, List<String> events, List<Answer> answers,
      List<Reading> readings, List<StatusReading> status) {
    List<Window> windows = windows(s, answers, readings);
    String unit = s.windowSeconds() == 60 ? "min" : s.windowSeconds() + "s-win";
    StringBuilder md = new StringBuilder(heading).append("\n\n");
    events.forEach(e -> md.append("- event: ").append(e).append('\n'));
    if (!events.isEmpty()) {
      md.append('\n');
    }
    md.append("| ").append(unit).append(" | live keys | allowance rpm | goodput rpm | % of allowance | upstream "
        + "attempts | 429s | 429 % | 401s | sent | 200s of sent | errors of sent | caused by keys | urgent wait "
        + "p50/p99 ms (n) | backends at end | goodput | 429 share | key errors | urgent p99 |\n");
    md.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|---|---|\n");
    ObjectNode json = JSON.createObjectNode();
    ArrayNode rows = json.putArray("windows");
    int pass = 0;
    int miss = 0;
    List<String> misses = new ArrayList<>();
    String[] names = {"goodput", "429 share", "key errors", "urgent p99"};
    for (Window w : windows) {
      String[] v = verdicts(s, w);
      for (int k = 0; k < v.length; k++) {
        if (v[k].equals("PASS")) {
          pass++;
        } else if (v[k].equals("MISS")) {
          miss++;
          misses.add(unit + " " + w.number() + " " + names[k]);
        }
      }
      Counts u = w.upstream();
      JsonNode st = statusNear(status, w.endNanos());
      md.append(String.format(Locale.ROOT, "| %d | %s | %.0f | %.0f | %.1f | %s | %s | %s | %s | %d | %d | %s | %d "
          + "| %s | %s | %s | %s | %s | %s |%n", w.number(), w.liveKeysAtStart() == w.liveKeysAtEnd()
          ? Integer.toString(w.liveKeysAtStart()) : w.liveKeysAtStart() + "→" + w.liveKeysAtEnd(), w.allowanceRpm(),
          w.goodputRpm(), w.goodputShare() * 100, u == null ? "-" : Long.toString(u.attempts()),
          u == null ? "-" : Long.toString(u.rejected429()),
          u == null ? "-" : String.format(Locale.ROOT, "%.1f", u.share429() * 100),
          u == null ? "-" : Long.toString(u.unauthorized()), w.sent(), w.sentOk(), text(w.errors()), w.keyErrors(),
          w.urgentWaits() == 0 ? "-" : String.format(Locale.ROOT, "%.0f/%.0f (%d)", w.urgentP50Millis(),
              w.urgentP99Millis(), w.urgentWaits()), backendsText(st), v[0], v[1], v[2], v[3]));
      ObjectNode row = rows.addObject();
      row.put("window", w.number());
      row.put("start_s", w.startNanos() / NANOS_PER_SECOND);
      row.put("end_s", w.endNanos() / NANOS_PER_SECOND);
      row.put("live_keys_at_start", w.liveKeysAtStart());
      row.put("live_keys_at_end", w.liveKeysAtEnd());
      row.put("allowance_rpm", w.allowanceRpm());
      row.put("ok_answered_in_window", w.ok());
      row.put("goodput_rpm", w.goodputRpm());
      row.put("goodput_share_of_allowance", w.goodputShare());
      if (u != null) {
        row.put("upstream_attempts", u.attempts());
        row.put("upstream_accepted", u.accepted());
        row.put("upstream_429", u.rejected429());
        row.put("upstream_401", u.unauthorized());
        row.put("upstream_429_share", u.share429());
      }
      ArrayNode carried = row.putArray("sims_counted_from_an_earlier_reading");
      w.carried().forEach(carried::add);
      row.put("sent", w.sent());
      row.put("sent_ok", w.sentOk());
      ObjectNode errors = row.putObject("errors");
      w.errors().forEach(errors::put);
      ObjectNode causes = row.putObject("errors_by_cause");
      w.causes().forEach((c, n) -> causes.put(c.name().toLowerCase(Locale.ROOT), n));
      row.put("urgent_waits", w.urgentWaits());
      row.put("urgent_wait_p50_ms", w.urgentP50Millis());
      row.put("urgent_wait_p99_ms", w.urgentP99Millis());
      row.put("max_send_lag_s", w.maxSendLagNanos() / 1e9);
      if (st != null) {
        row.set("status_at_end", st.path("pools").path(0));
      }
      ObjectNode targets = row.putObject("targets");
      for (int k = 0; k < names.length; k++) {
        targets.put(names[k], v[k]);
      }
    }
    md.append('\n');
    for (Window w : windows) {
      if (!w.carried().isEmpty()) {
        md.append(String.format(Locale.ROOT, "- note: %s %d counts sim %s with its reading from before it stopped "
            + "answering (it refuses connections, so it sees no attempts).%n", unit, w.number(), w.carried().stream()
            .map(String::valueOf).reduce((a, b) -> a + ", " + b).orElse("")));
      }
      if (w.maxSendLagNanos() > NANOS_PER_SECOND) {
        md.append(String.format(Locale.ROOT, "- note: %s %d: the driver sent up to %.1f s late (a stalled machine; "
            + "counted in the latencies, not in the queue waits).%n", unit, w.number(), w.maxSendLagNanos() / 1e9));
      }
    }

    // ---- the whole run ----
    ObjectNode run = json.putObject("run");
    int last = readings.size() - 1;
    int first = boundaryIndex(readings, 0);
    List<Integer> carried = new ArrayList<>();
    Counts c0 = first < 0 ? null : countsAt(readings, first, carried);
    Counts c1 = last < 0 ? null : countsAt(readings, last, carried);
    Map<Cause, Integer> causes = new EnumMap<>(Cause.class);
    Map<String, Integer> errors = new TreeMap<>();
    int ok = 0;
    for (Answer a : answers) {
      Cause cause = cause(a);
      if (cause == null) {
        ok++;
      } else {
        causes.merge(cause, 1, Integer::sum);
        errors.merge(errorKey(a), 1, Integer::sum);
      }
    }
    if (c0 != null && c1 != null) {
      Counts u = c1.minus(c0);
      md.append(String.format(Locale.ROOT, "%nWhole run (0 s to %.1f s, %s): upstream attempts the sims saw %d = %d "
          + "accepted + %d 429s + %d 401s; upstream 429 share %.2f %%.", readings.get(last).offsetNanos() / 1e9,
          readings.get(last).label(), u.attempts(), u.accepted(), u.rejected429(), u.unauthorized(),
          u.share429() * 100));
      run.put("until_s", readings.get(last).offsetNanos() / 1e9);
      run.put("upstream_attempts", u.attempts());
      run.put("upstream_accepted", u.accepted());
      run.put("upstream_429", u.rejected429());
      run.put("upstream_401", u.unauthorized());
      run.put("upstream_429_share", u.share429());
    } else {
      md.append("\nWhole run: the sims' counters are missing.");
    }
    md.append(String.format(Locale.ROOT, " Callers: %d sent, %d answered 200; errors: %s; by cause: %s.%n%n",
        answers.size(), ok, text(errors), causesText(causes)));
    run.put("sent", answers.size());
    run.put("ok", ok);
    ObjectNode runErrors = run.putObject("errors");
    errors.forEach(runErrors::put);
    ObjectNode runCauses = run.putObject("errors_by_cause");
    causes.forEach((c, n) -> runCauses.put(c.name().toLowerCase(Locale.ROOT), n));
    md.append(String.format(Locale.ROOT, "Targets: %s. Judged: %d PASS, %d MISS%s (verdicts in parentheses are in "
        + "the first window, not judged; n/a: nothing to judge).%n", targetsText(s), pass, miss,
        misses.isEmpty() ? "" : " — MISS: " + String.join("; ", misses)));
    StatusReading lastStatus = null;
    for (StatusReading r : status) {
      if (r.body() != null) {
        lastStatus = r;
      }
    }
    if (lastStatus != null) {
      md.append(String.format(Locale.ROOT, "%nBackends at the end (/status at %.0f s):%n%n",
          lastStatus.offsetNanos() / 1e9));
      JsonNode pool = lastStatus.body().path("pools").path(0);
      for (JsonNode b : pool.path("backends")) {
        md.append(String.format(Locale.ROOT, "- %s: %s%s; concurrency %s, limit %d; consecutive failures %d; last "
            + "429 %s; retreat %s at %d RPM%n", b.path("id").asText(), b.path("state").asText(),
            b.hasNonNull("out_of_service") ? " (" + b.path("out_of_service").asText() + ")" : "",
            b.path("concurrency_mode").asText(), b.path("concurrency_limit").asInt(),
            b.path("consecutive_failures").asInt(), b.path("last_429").asText("none"),
            b.path("retreat").path("state").asText(), b.path("retreat").path("effective_rpm").asInt()));
      }
      JsonNode q = pool.path("queue");
      md.append(String.format(Locale.ROOT, "- pool: dispatched %d, requeued after a 429 %d, timed out %d, evicted %d, "
          + "no backend %d, retries %d of %d first attempts in the budget's window%n", q.path("dispatched").asLong(),
          q.path("requeued_after_429").asLong(), q.path("timed_out").asLong(), q.path("evicted").asLong(),
          q.path("no_backend").asLong(), q.path("retry_budget").path("retries").asLong(),
          q.path("retry_budget").path("first_attempts").asLong()));
    }
    json.put("judged_pass", pass);
    json.put("judged_miss", miss);
    ArrayNode ev = json.putArray("events");
    events.forEach(ev::add);
    return new Rendered(md.toString(), json);
  }

  /** The position in {@code readings} of the reading for window boundary {@code k}; -1 if there is none. */
  private static int boundaryIndex(List<Reading> readings, int k) {
    for (int i = 0; i < readings.size(); i++) {
      if (readings.get(i).boundary() == k) {
        return i;
      }
    }
    return -1;
  }

  private static String targetsText(Settings s) {
    List<String> t = new ArrayList<>();
    if (s.targetGoodputPct() >= 0) {
      t.add("goodput ≥ " + Ranges.text(s.targetGoodputPct()) + " % of the allowance in every window after the first");
    }
    if (s.target429Pct() >= 0) {
      t.add("upstream 429 share ≤ " + Ranges.text(s.target429Pct()) + " %");
    }
    if (s.targetKeyErrors() >= 0) {
      t.add(s.targetKeyErrors() == 0 ? "no client error caused by the keys"
          : "at most " + s.targetKeyErrors() + " client errors caused by the keys");
    }
    if (s.targetUrgentP99Millis() >= 0) {
      t.add("urgent p99 queue wait ≤ " + Ranges.text(s.targetUrgentP99Millis() / 1000) + " s");
    }
    return t.isEmpty() ? "none" : String.join("; ", t) + (t.size() > 1 && s.targetGoodputPct() >= 0
        ? " (all but goodput in every window)" : "");
  }

  /** Each backend's state at a window's end from /status: "key-1 active 1/4 · key-2 cooling 37 s"; and the queue. */
  private static String backendsText(JsonNode status) {
    if (status == null) {
      return "-";
    }
    JsonNode pool = status.path("pools").path(0);
    List<String> parts = new ArrayList<>();
    for (JsonNode b : pool.path("backends")) {
      String state = b.path("state").asText();
      String detail = switch (state) {
        case "cooling" -> " " + Math.round(b.path("cooldown_remaining_ms").asLong() / 1000.0) + " s";
        case "active" -> " " + b.path("in_flight").asInt() + "/" + b.path("concurrency_limit").asInt();
        default -> "";
      };
      parts.add(b.path("id").asText() + " " + state + detail);
    }
    JsonNode queue = pool.path("queue");
    parts.add("queue " + queue.path("size").asInt() + ", retries " + queue.path("retry_budget").path("retries")
        .asInt() + ", no_backend " + queue.path("no_backend").asInt());
    return String.join(" · ", parts);
  }

  /** The /status reading closest to {@code offsetNanos}, if within {@link #STATUS_NEAR_NANOS}; else null. */
  private static JsonNode statusNear(List<StatusReading> status, long offsetNanos) {
    StatusReading best = null;
    for (StatusReading r : status) {
      if (r.body() != null && (best == null
          || Math.abs(r.offsetNanos() - offsetNanos) < Math.abs(best.offsetNanos() - offsetNanos))) {
        best = r;
      }
    }
    return best == null || Math.abs(best.offsetNanos() - offsetNanos) > STATUS_NEAR_NANOS ? null : best.body();
  }

  private static String text(Map<String, Integer> counts) {
    StringBuilder t = new StringBuilder();
    counts.forEach((k, v) -> t.append(t.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
    return t.isEmpty() ? "-" : t.toString();
  }

  private static String causesText(Map<Cause, Integer> causes) {
    StringBuilder t = new StringBuilder();
    causes.forEach((c, n) -> t.append(t.isEmpty() ? "" : ", ").append(c.words).append(" ").append(n));
    return t.isEmpty() ? "none" : t.toString();
  }

  private static String pm(boolean pass) {
    return pass ? "PASS" : "MISS";
  }
}
