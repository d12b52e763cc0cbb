package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The report of the token benchmark's guard run ({@link TokenLoad}, bench/tokens.sh run B), computed from the raw
 * data alone. The run reads the simulated provider's counters and Sluice's view of its backend's quota guard every
 * fraction of a second; Sluice's log says to the millisecond when the guard tripped and when it let the backend back
 * in, and why. From these:
 *
 * <ul>
 *   <li><b>exceeded spans</b>: from a trip ("quota exceeded") to the next "within quota again" (or the end);
 *   <li><b>upstream requests while exceeded</b>: the sim's attempts (accepted + 429, its quota errors included) in
 *       every interval between two readings that lies wholly inside a span. The interval holding a trip or a
 *       recovery is left out: requests sent just before the trip, or the flow after the recovery, land there; a
 *       probe that restored the backend is counted in it all the same (Sluice's log says it came first). So each
 *       request's instant is known to within one reading interval, and the checks below only fail on what is
 *       certain at that resolution.
 * </ul>
 *
 * Checks, each PASS or FAIL:
 *
 * <ol>
 *   <li><b>trips at the threshold</b>: the first change is a trip on usage, with Sluice's window usage at or above
 *       the threshold share of the budget, before the provider refused a single request for its quota;
 *   <li><b>never beyond the probe rule</b>: while exceeded, no two upstream requests are certainly less than one
 *       probe interval apart (two in one reading interval, or two whose intervals span less than a probe interval),
 *       and none is certainly within one probe interval after the trip;
 *   <li><b>probes every probe interval</b>: while exceeded, the time before the first upstream request, between
 *       two, and from the last to the span's end is never certainly longer than a probe interval plus 5 s;
 *   <li><b>recovers when the window slides</b>: after the provider's window began to slide (one budget window
 *       after its first accepted request), the guard let the backend back in and the provider accepted requests
 *       again.
 * </ol>
 *
 * <p>Stateless: every method is a function of its arguments; safe from any thread.
 */
final class GuardReport {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final long NANOS_PER_MILLI = 1_000_000L;
  /** Lets the log's millisecond timestamps and the readings' clock disagree by this much. */
  private static final long SKEW_NANOS = 100 * NANOS_PER_MILLI;
  /** A probe may come this much later than one probe interval before it counts as missing. */
  private static final long PROBE_SLACK_NANOS = 5 * NANOS_PER_SECOND;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern USAGE_TRIP = Pattern.compile("^quota exceeded: (\\d+) tokens");

  private GuardReport() {}

  /**
   * The run's shape.
   *
   * @param budgetTokens the token budget, the same in the sim and in Sluice
   * @param thresholdPercent the guard's threshold
   * @param probeIntervalSeconds the guard's probe interval
   * @param budgetWindowSeconds the sim's budget window (and Sluice's quota window)
   */
  record Settings(int durationSeconds, long budgetTokens, int thresholdPercent, int probeIntervalSeconds,
      int budgetWindowSeconds) {
    long probeNanos() {
      return probeIntervalSeconds * NANOS_PER_SECOND;
    }

    long thresholdTokens() {
      return (long) Math.ceil(budgetTokens * (thresholdPercent / 100.0));
    }
  }

  /**
   * A change of the guard's state.
   *
   * @param offsetNanos when, from the run's start (from the log; or the first reading that showed it)
   * @param earliestNanos the earliest it can have been (the log's instant, or the reading before)
   * @param exceeded a trip (true) or a recovery
   * @param message what Sluice said, after "backend "; or where it was seen
   */
  record Transition(long offsetNanos, long earliestNanos, boolean exceeded, String message) {
    /** A trip on the usage Sluice counted (not on the provider's quota error). */
    boolean usageTrip() {
      return exceeded && USAGE_TRIP.matcher(message).find();
    }

    /** The window usage a usage trip names; -1 for another change. */
    long usageTokens() {
      Matcher m = USAGE_TRIP.matcher(message);
      return exceeded && m.find() ? Long.parseLong(m.group(1)) : -1;
    }
  }

  /**
   * Upstream requests in one interval between two readings, wholly inside an exceeded span.
   *
   * @param fromNanos the earlier reading
   * @param toNanos the later one
   * @param attempts requests the sim saw in between
   * @param accepted of which it accepted
   */
  record Hit(long fromNanos, long toNanos, long attempts, long accepted) {}

  /**
   * One stretch of the guard exceeded.
   *
   * @param startNanos the trip
   * @param endNanos the recovery, or the last reading when it did not recover
   * @param recovered whether it ended with a recovery
   * @param trip what the trip said
   * @param recovery what the recovery said; "" without one
   * @param hits upstream requests while it lasted
   * @param sluiceProbes probes Sluice counted in it (its admin API's {@code probes}); -1 when not known
   */
  record Span(int number, long startNanos, long endNanos, boolean recovered, String trip, String recovery,
      List<Hit> hits, long sluiceProbes) {
    long attempts() {
      return hits.stream().mapToLong(Hit::attempts).sum();
    }
  }

  /** One check's verdict and why. */
  record Check(String name, boolean pass, String detail) {}

  /** The report: markdown, the same as JSON, and the checks' counts. */
  record Rendered(String markdown, ObjectNode json, int passes, int fails) {}

  /**
   * The guard's changes in Sluice's log (JSON lines; other lines are skipped): {@code sluice.backend} lines whose
   * message starts with "backend quota exceeded" or "backend within quota again", at their {@code ts} less
   * {@code startWallMillis}.
   */
  static List<Transition> fromLog(List<String> lines, long startWallMillis) {
    List<Transition> transitions = new ArrayList<>();
    for (String line : lines) {
      if (!line.startsWith("{") || !line.contains("\"sluice.backend\"")) {
        continue;
      }
      JsonNode entry;
      try {
        entry = JSON.readTree(line);
      } catch (IOException e) {
        continue;
      }
      String msg = entry.path("msg").asText();
      boolean exceeded = msg.startsWith("backend quota exceeded");
      if (!exceeded && !msg.startsWith("backend within quota again")) {
        continue;
      }
      long at;
      try {
        at = (Instant.parse(entry.path("ts").asText()).toEpochMilli() - startWallMillis) * NANOS_PER_MILLI;
      } catch (DateTimeParseException e) {
        continue;
      }
      transitions.add(new Transition(at, at, exceeded, msg.substring("backend ".length())));
    }
    transitions.sort(Comparator.comparingLong(Transition::offsetNanos));
    return transitions;
  }

  /** The guard's changes as the readings of Sluice show them, when its log has none. */
  static List<Transition> fromSamples(List<Sample> samples) {
    List<Transition> transitions = new ArrayList<>();
    boolean exceeded = false;
    long previous = 0;
    for (Sample s : samples) {
      Boolean now = exceeded(TokenReport.sluice(s));
      if (now != null && now != exceeded) {
        transitions.add(new Transition(s.offsetNanos(), previous, now,
            (now ? "quota exceeded" : "within quota again") + " (seen in a reading of Sluice)"));
        exceeded = now;
      }
      if (now != null) {
        previous = s.offsetNanos();
      }
    }
    return transitions;
  }

  /**
   * Whether a reading of Sluice shows the backend exceeded: its admin API's quota entry ({@code "state":
   * "QUOTA_EXCEEDED"}) or {@code /status} (the first backend's {@code "state": "quota_exceeded"}); null when the
   * reading is missing.
   */
  static Boolean exceeded(JsonNode sluice) {
    if (sluice == null) {
      return null;
    }
    if (sluice.has("backend")) {
      return sluice.path("state").asText().equals("QUOTA_EXCEEDED");
    }
    JsonNode backend = sluice.path("pools").path(0).path("backends").path(0);
    return backend.isMissingNode() ? null : backend.path("state").asText().equals("quota_exceeded");
  }

  /** The window usage in a reading of Sluice; -1 when it does not say. */
  static long usageTokens(JsonNode sluice) {
    if (sluice == null) {
      return -1;
    }
    JsonNode quota = sluice.has("backend") ? sluice : sluice.path("pools").path(0).path("backends").path(0)
        .path("quota");
    return quota.path("window_usage_tokens").asLong(-1);
  }

  /** The probes Sluice counted since start (admin API); -1 when the reading does not say. */
  static long probes(JsonNode sluice) {
    return sluice == null ? -1 : sluice.path("probes").asLong(-1);
  }

  /**
   * The exceeded spans, each with the upstream requests the sim saw while it lasted. A trip while already exceeded
   * (Sluice says so again when a probe gets the provider's quota error) does not start another span.
   */
  static List<Span> spans(List<Transition> transitions, List<Sample> samples) {
    List<Span> spans = new ArrayList<>();
    long lastReading = samples.isEmpty() ? 0 : samples.getLast().offsetNanos();
    Transition trip = null;
    for (Transition t : transitions) {
      if (t.exceeded() && trip == null) {
        trip = t;
      } else if (!t.exceeded() && trip != null) {
        spans.add(span(spans.size() + 1, trip, t, samples, lastReading));
        trip = null;
      }
    }
    if (trip != null) {
      spans.add(span(spans.size() + 1, trip, null, samples, lastReading));
    }
    return spans;
  }

  private static Span span(int number, Transition trip, Transition recovery, List<Sample> samples,
      long lastReading) {
    long end = recovery == null ? lastReading : recovery.offsetNanos();
    long earliestEnd = recovery == null ? lastReading : recovery.earliestNanos();
    List<Hit> hits = new ArrayList<>();
    long probesAtStart = -1;
    long probesAtEnd = -1;
    for (int i = 0; i < samples.size(); i++) {
      Sample a = samples.get(i);
      if (i + 1 < samples.size() && a.offsetNanos() >= trip.offsetNanos()
          && samples.get(i + 1).offsetNanos() <= earliestEnd) {
        Sample b = samples.get(i + 1);
        JsonNode simA = TokenReport.sim(a);
        JsonNode simB = TokenReport.sim(b);
        if (simA != null && simB != null) {
          SimCounts d = SimCounts.of(simB).minus(SimCounts.of(simA));
          if (d.attempts() > 0) {
            hits.add(new Hit(a.offsetNanos(), b.offsetNanos(), d.attempts(), d.accepted()));
          }
        }
      }
      long p = probes(TokenReport.sluice(a));
      if (p >= 0 && a.offsetNanos() <= trip.earliestNanos()) {
        probesAtStart = p;
      }
      if (p >= 0 && a.offsetNanos() >= end && probesAtEnd < 0) {
        probesAtEnd = p;
      }
    }
    if (recovery != null && recovery.message().contains("probe") && hits.stream().noneMatch(h -> h.accepted() > 0)) {
      // While exceeded only probes go, and the first one accepted ends the span: when no reading inside it saw that
      // probe, it shares its reading interval with the flow that follows the recovery. Sluice's log says it came
      // before the recovery, so it is counted there, at the latest at the recovery's instant.
      long from = trip.offsetNanos();
      for (Sample x : samples) {
        if (x.offsetNanos() <= recovery.earliestNanos()) {
          from = Math.max(from, x.offsetNanos());
        }
      }
      hits.add(new Hit(from, recovery.offsetNanos(), 1, 1));
    }
    if (probesAtEnd < 0 && !samples.isEmpty()) {
      probesAtEnd = probes(TokenReport.sluice(samples.getLast()));
    }
    long probes = probesAtStart >= 0 && probesAtEnd >= 0 ? probesAtEnd - probesAtStart : -1;
    return new Span(number, trip.earliestNanos(), end, recovery != null, trip.message(),
        recovery == null ? "" : recovery.message(), hits, probes);
  }

  /** Check 1: the first change is a usage trip at the threshold, before any quota error from the provider. */
  static Check tripAtThreshold(Settings s, List<Transition> transitions, List<Sample> samples) {
    String name = "trips at the threshold";
    if (transitions.isEmpty() || !transitions.getFirst().exceeded()) {
      return new Check(name, false, "the guard never tripped");
    }
    Transition trip = transitions.getFirst();
    long quotaErrors = quotaErrorsBefore(samples, trip.earliestNanos());
    long usage = trip.usageTokens();
    if (usage < 0) {
      int after = TokenReport.firstAtOrAfter(samples, trip.offsetNanos());
      usage = after < 0 ? -1 : usageTokens(TokenReport.sluice(samples.get(after)));
    }
    String simWindow = windowText(s, simWindowBefore(samples, trip.offsetNanos()));
    String detail = String.format(Locale.ROOT, "first trip at %.1f s (%s); Sluice's window usage %s, threshold %,d "
        + "(%d %% of %,d); the provider's window then %s; quota errors from the provider before it: %s",
        trip.offsetNanos() / 1e9, trip.usageTrip() ? "on usage" : "not on usage: " + trip.message(),
        usage < 0 ? "unknown" : String.format(Locale.ROOT, "%,d", usage), s.thresholdTokens(), s.thresholdPercent(),
        s.budgetTokens(), simWindow, quotaErrors < 0 ? "unknown" : Long.toString(quotaErrors));
    boolean pass = trip.usageTrip() && usage >= s.thresholdTokens() && quotaErrors == 0;
    return new Check(name, pass, detail);
  }

  /** Check 2: while exceeded, never more than one upstream request per probe interval. */
  static Check probeRule(Settings s, List<Span> spans) {
    List<String> breaches = new ArrayList<>();
    long requests = 0;
    for (Span span : spans) {
      Hit previous = null;
      for (Hit h : span.hits()) {
        requests += h.attempts();
        if (h.attempts() > 1) {
          breaches.add(String.format(Locale.ROOT, "span %d: %d requests between %.1f s and %.1f s", span.number(),
              h.attempts(), h.fromNanos() / 1e9, h.toNanos() / 1e9));
        }
        if (previous == null && h.toNanos() + SKEW_NANOS < span.startNanos() + s.probeNanos()) {
          breaches.add(String.format(Locale.ROOT, "span %d: a request by %.1f s, less than %d s after the trip at "
              + "%.1f s", span.number(), h.toNanos() / 1e9, s.probeIntervalSeconds(), span.startNanos() / 1e9));
        }
        if (previous != null && h.toNanos() - previous.fromNanos() + SKEW_NANOS < s.probeNanos()) {
          breaches.add(String.format(Locale.ROOT, "span %d: requests in %.1f..%.1f s and %.1f..%.1f s, less than "
              + "%d s apart", span.number(), previous.fromNanos() / 1e9, previous.toNanos() / 1e9,
              h.fromNanos() / 1e9, h.toNanos() / 1e9, s.probeIntervalSeconds()));
        }
        previous = h;
      }
    }
    String detail = breaches.isEmpty()
        ? String.format(Locale.ROOT, "%d upstream requests in %d exceeded spans, none closer than a probe interval "
            + "(%d s) to the trip or to another", requests, spans.size(), s.probeIntervalSeconds())
        : String.join("; ", breaches);
    return new Check("never beyond the probe rule", breaches.isEmpty() && !spans.isEmpty(),
        spans.isEmpty() ? "the guard never tripped" : detail);
  }

  /** Check 3: while exceeded, a probe every probe interval (plus 5 s). */
  static Check probing(Settings s, List<Span> spans) {
    List<String> gaps = new ArrayList<>();
    long limit = s.probeNanos() + PROBE_SLACK_NANOS;
    for (Span span : spans) {
      long previousTo = span.startNanos();
      for (Hit h : span.hits()) {
        if (h.fromNanos() - previousTo > limit) {
          gaps.add(gapText(span, previousTo, h.fromNanos()));
        }
        previousTo = h.toNanos();
      }
      if (span.endNanos() - previousTo > limit) {
        gaps.add(gapText(span, previousTo, span.endNanos()));
      }
    }
    long probes = spans.stream().mapToLong(Span::attempts).sum();
    String detail = gaps.isEmpty()
        ? String.format(Locale.ROOT, "%d probes in %d exceeded spans, none more than %d s + 5 s after the trip or "
            + "the one before", probes, spans.size(), s.probeIntervalSeconds())
        : "no request for longer than a probe interval + 5 s: " + String.join("; ", gaps);
    return new Check("probes every probe interval", gaps.isEmpty() && !spans.isEmpty(),
        spans.isEmpty() ? "the guard never tripped" : detail);
  }

  /** Check 4: back within quota once the provider's window slides, and requests accepted again. */
  static Check recovery(Settings s, List<Span> spans, List<Sample> samples) {
    long firstAccepted = firstAcceptedNanos(samples);
    if (firstAccepted < 0) {
      return new Check("recovers when the window slides", false, "the provider accepted no request");
    }
    long slides = firstAccepted + s.budgetWindowSeconds() * NANOS_PER_SECOND;
    int recoveries = 0;
    int byUsage = 0;
    String first = null;
    for (int k = 0; k < spans.size(); k++) {
      Span span = spans.get(k);
      if (!span.recovered()) {
        continue;
      }
      recoveries++;
      byUsage += span.recovery().contains("probe") ? 0 : 1;
      long until = k + 1 < spans.size() ? spans.get(k + 1).startNanos()
          : samples.isEmpty() ? span.endNanos() : samples.getLast().offsetNanos();
      long accepted = acceptedBetween(samples, span.endNanos(), until);
      if (first == null && span.endNanos() + SKEW_NANOS >= slides && accepted > 0) {
        first = String.format(Locale.ROOT, "%.1f s (%s), then %d requests accepted before %s at %.1f s",
            span.endNanos() / 1e9, span.recovery(), accepted, k + 1 < spans.size() ? "the next trip" : "the end",
            until / 1e9);
      }
    }
    String detail = String.format(Locale.ROOT, "the provider's window starts to slide at %.1f s (its first accepted "
        + "request + %d s); %d recoveries (%d as usage slid below the threshold, %d by an accepted probe); the "
        + "first after the window began to slide with requests accepted after it: %s", slides / 1e9,
        s.budgetWindowSeconds(), recoveries, byUsage, recoveries - byUsage, first == null ? "none" : first);
    return new Check("recovers when the window slides", first != null, detail);
  }

  static Rendered render(Settings s, String heading, List<TokenCall> calls, List<Sample> samples, Sample afterDrain,
      List<Transition> transitions, String transitionsSource) {
    List<Span> spans = spans(transitions, samples);
    List<Check> checks = List.of(tripAtThreshold(s, transitions, samples), probeRule(s, spans), probing(s, spans),
        recovery(s, spans, samples));
    StringBuilder md = new StringBuilder(heading).append("\n\n");

    md.append("Changes of the guard (").append(transitionsSource).append("):\n\n");
    md.append("| t s | change | the provider's window | Sluice's window usage |\n|---:|---|---:|---:|\n");
    for (Transition t : transitions) {
      int after = TokenReport.firstAtOrAfter(samples, t.offsetNanos());
      long usage = after < 0 ? -1 : usageTokens(TokenReport.sluice(samples.get(after)));
      md.append(String.format(Locale.ROOT, "| %.1f | %s | %s | %s |%n", t.offsetNanos() / 1e9, t.message(),
          windowText(s, simWindowBefore(samples, t.offsetNanos())), windowText(s, usage)));
    }
    if (transitions.isEmpty()) {
      md.append("| - | none | | |\n");
    }
    md.append('\n');

    md.append("| span | from s | to s | length s | upstream requests while exceeded (reading interval: requests, "
        + "accepted) | Sluice's probes |\n|---:|---:|---|---:|---|---:|\n");
    for (Span span : spans) {
      StringBuilder hits = new StringBuilder();
      for (Hit h : span.hits()) {
        hits.append(hits.isEmpty() ? "" : "; ").append(String.format(Locale.ROOT, "%.1f–%.1f: %d, %d",
            h.fromNanos() / 1e9, h.toNanos() / 1e9, h.attempts(), h.accepted()));
      }
      md.append(String.format(Locale.ROOT, "| %d | %.1f | %.1f%s | %.1f | %s | %s |%n", span.number(),
          span.startNanos() / 1e9, span.endNanos() / 1e9, span.recovered() ? " (" + span.recovery() + ")"
              : " (still exceeded at the last reading)", (span.endNanos() - span.startNanos()) / 1e9,
          hits.isEmpty() ? "none" : hits.toString(), span.sluiceProbes() < 0 ? "-" : span.sluiceProbes()));
    }
    if (spans.isEmpty()) {
      md.append("| - | | | | | |\n");
    }
    md.append('\n');

    md.append("| min | accepted | accepted tokens | quota errors | other 429s | the provider's window at the end | "
        + "Sluice exceeded (share of readings) | Sluice's window usage at the end | callers' 2xx | callers' other "
        + "answers |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    ArrayNode minutes = JSON.createArrayNode();
    for (int m = 0; m * 60 < s.durationSeconds(); m++) {
      long ms = m * 60 * NANOS_PER_SECOND;
      long me = ms + 60 * NANOS_PER_SECOND;
      int i0 = TokenReport.firstAtOrAfter(samples, ms);
      int i1 = TokenReport.firstAtOrAfter(samples, me);
      if (i1 < 0 && !samples.isEmpty()) {
        i1 = samples.size() - 1;
      }
      SimCounts d = i0 >= 0 && i1 > i0 && TokenReport.sim(samples.get(i0)) != null
          && TokenReport.sim(samples.get(i1)) != null
          ? SimCounts.of(TokenReport.sim(samples.get(i1))).minus(SimCounts.of(TokenReport.sim(samples.get(i0))))
          : null;
      int readings = 0;
      int exceeded = 0;
      for (Sample x : samples) {
        Boolean e = x.offsetNanos() >= ms && x.offsetNanos() < me ? exceeded(TokenReport.sluice(x)) : null;
        if (e != null) {
          readings++;
          exceeded += e ? 1 : 0;
        }
      }
      int ok = 0;
      Map<String, Integer> others = new TreeMap<>();
      for (TokenCall c : calls) {
        if (c.offsetNanos() >= ms && c.offsetNanos() < me) {
          if (c.ok()) {
            ok++;
          } else {
            others.merge(c.outcome(), 1, Integer::sum);
          }
        }
      }
      long usageEnd = i1 < 0 ? -1 : usageTokens(TokenReport.sluice(samples.get(i1)));
      long simWindow = i1 < 0 ? -1 : simWindow(samples.get(i1));
      md.append(String.format(Locale.ROOT, "| %d | %s | %s | %s | %s | %s | %s | %s | %d | %s |%n", m + 1,
          d == null ? "-" : d.accepted(), d == null ? "-" : String.format(Locale.ROOT, "%,d", d.acceptedTokens()),
          d == null ? "-" : d.byQuota(), d == null ? "-" : d.rejected429() - d.byQuota(), windowText(s, simWindow),
          readings == 0 ? "-" : String.format(Locale.ROOT, "%.0f %%", 100.0 * exceeded / readings),
          windowText(s, usageEnd), ok, TokenReport.outcomesText(others)));
      ObjectNode row = minutes.addObject();
      row.put("minute", m + 1);
      if (d != null) {
        row.put("upstream_accepted", d.accepted());
        row.put("upstream_accepted_tokens", d.acceptedTokens());
        row.put("upstream_quota_errors", d.byQuota());
        row.put("upstream_other_429", d.rejected429() - d.byQuota());
      }
      row.put("sim_window_tokens_at_end", simWindow);
      row.put("sluice_window_usage_at_end", usageEnd);
      row.put("exceeded_share", readings == 0 ? -1 : (double) exceeded / readings);
      row.put("ok", ok);
      ObjectNode o = row.putObject("non_2xx");
      others.forEach(o::put);
    }
    md.append('\n');
    Sample last = TokenReport.sim(afterDrain) != null ? afterDrain : samples.isEmpty() ? null : samples.getLast();
    if (!samples.isEmpty() && TokenReport.sim(samples.getFirst()) != null && TokenReport.sim(last) != null) {
      SimCounts run = SimCounts.of(TokenReport.sim(last)).minus(SimCounts.of(TokenReport.sim(samples.getFirst())));
      md.append(String.format(Locale.ROOT, "Whole run (0 s to %.1f s%s): %d upstream requests = %d accepted (%,d "
          + "tokens) + %d quota errors + %d other 429s; %d of %d callers' requests answered 2xx.%n%n",
          last.offsetNanos() / 1e9, last == afterDrain ? ", after the drain" : "", run.attempts(), run.accepted(),
          run.acceptedTokens(), run.byQuota(), run.rejected429() - run.byQuota(),
          calls.stream().filter(TokenCall::ok).count(), calls.size()));
    }
    int passes = 0;
    int fails = 0;
    ObjectNode json = JSON.createObjectNode();
    ArrayNode checkRows = json.putArray("checks");
    for (int k = 0; k < checks.size(); k++) {
      Check c = checks.get(k);
      md.append(String.format(Locale.ROOT, "%d. **%s: %s** — %s%n", k + 1, c.name(), TokenReport.pf(c.pass()),
          c.detail()));
      if (c.pass()) {
        passes++;
      } else {
        fails++;
      }
      ObjectNode row = checkRows.addObject();
      row.put("check", c.name());
      row.put("verdict", TokenReport.pf(c.pass()));
      row.put("detail", c.detail());
    }
    md.append(String.format(Locale.ROOT, "%nJudged: %d PASS, %d FAIL.%n%n", passes, fails));
    ArrayNode t = json.putArray("transitions");
    for (Transition x : transitions) {
      ObjectNode row = t.addObject();
      row.put("t_s", x.offsetNanos() / 1e9);
      row.put("exceeded", x.exceeded());
      row.put("message", x.message());
    }
    ArrayNode sp = json.putArray("spans");
    for (Span span : spans) {
      ObjectNode row = sp.addObject();
      row.put("from_s", span.startNanos() / 1e9);
      row.put("to_s", span.endNanos() / 1e9);
      row.put("recovered", span.recovered());
      row.put("upstream_requests", span.attempts());
      row.put("sluice_probes", span.sluiceProbes());
      ArrayNode hits = row.putArray("hits");
      for (Hit h : span.hits()) {
        hits.addObject().put("from_s", h.fromNanos() / 1e9).put("to_s", h.toNanos() / 1e9)
            .put("requests", h.attempts()).put("accepted", h.accepted());
      }
    }
    json.set("minutes", minutes);
    json.put("judged_pass", passes);
    json.put("judged_fail", fails);
    return new Rendered(md.toString(), json, passes, fails);
  }

  /** The sim's quota errors from the first reading to the last one at or before {@code nanos}; -1 unknown. */
  private static long quotaErrorsBefore(List<Sample> samples, long nanos) {
    JsonNode first = null;
    JsonNode last = null;
    for (Sample x : samples) {
      JsonNode sim = TokenReport.sim(x);
      if (sim == null || x.offsetNanos() > nanos) {
        continue;
      }
      if (first == null) {
        first = sim;
      }
      last = sim;
    }
    return first == null ? -1 : SimCounts.of(last).minus(SimCounts.of(first)).byQuota();
  }

  /** The tokens in the sim's budget window at the last reading at or before {@code nanos}; -1 unknown. */
  private static long simWindowBefore(List<Sample> samples, long nanos) {
    long tokens = -1;
    for (Sample x : samples) {
      if (x.offsetNanos() <= nanos && TokenReport.sim(x) != null) {
        tokens = simWindow(x);
      }
    }
    return tokens;
  }

  private static long simWindow(Sample x) {
    JsonNode sim = TokenReport.sim(x);
    return sim == null ? -1 : sim.path("budget_window_tokens").asLong(-1);
  }

  /** When the sim's accepted count first rose above the first reading's; -1 never. */
  private static long firstAcceptedNanos(List<Sample> samples) {
    JsonNode first = null;
    for (Sample x : samples) {
      JsonNode sim = TokenReport.sim(x);
      if (sim == null) {
        continue;
      }
      if (first == null) {
        first = sim;
      } else if (sim.path("accepted").asLong() > first.path("accepted").asLong()) {
        return x.offsetNanos();
      }
    }
    return -1;
  }

  /** Requests the sim accepted between the readings at or after {@code from} and at or after {@code to}. */
  private static long acceptedBetween(List<Sample> samples, long from, long to) {
    int a = TokenReport.firstAtOrAfter(samples, from);
    int b = TokenReport.firstAtOrAfter(samples, to);
    if (b < 0) {
      b = samples.size() - 1;
    }
    if (a < 0 || b <= a || TokenReport.sim(samples.get(a)) == null || TokenReport.sim(samples.get(b)) == null) {
      return -1;
    }
    return TokenReport.sim(samples.get(b)).path("accepted").asLong()
        - TokenReport.sim(samples.get(a)).path("accepted").asLong();
  }

  private static String gapText(Span span, long fromNanos, long toNanos) {
    return String.format(Locale.ROOT, "span %d: %.1f s to %.1f s", span.number(), fromNanos / 1e9, toNanos / 1e9);
  }

  /** "441,000 (88.2 %)" of the budget; "-" when unknown. */
  private static String windowText(Settings s, long tokens) {
    return tokens < 0 ? "-"
        : String.format(Locale.ROOT, "%,d (%.1f %%)", tokens, 100.0 * tokens / s.budgetTokens());
  }
}
