package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The report of the token benchmark's pacing runs ({@link TokenLoad}, bench/tokens.sh runs A and A2), computed from
 * the raw data alone so that every figure can be checked by hand. Per window (a minute in the full run):
 *
 * <ul>
 *   <li><b>offered</b>: prompt + {@code max_tokens} of the requests due in the window, per minute;
 *   <li><b>goodput</b>: the tokens the provider accepted in the window, the delta of the sim's
 *       {@code accepted_tokens} between the readings at the window's boundaries (the first reading at or after
 *       each), per minute of the interval actually covered; beside it the callers' count, {@code usage.total_tokens}
 *       of the 2xx answers that arrived in the window;
 *   <li><b>upstream 429 share</b>: the sim's 429s over its attempts (accepted + 429) in the window.
 * </ul>
 *
 * Targets: goodput ≥ {@code targetGoodputPct} % of the hidden TPM in every window after the first
 * {@code warmupWindows} (reported, not judged: the callers' backlog builds up in them, and a seeded mix may offer
 * less than the limit before it has); the upstream 429 share ≤ {@code target429Pct} % over the whole run, from the
 * first send to the last answer. A target of -1 is reported without being judged.
 *
 * <p>Stateless: every method is a function of its arguments; safe from any thread.
 */
final class TokenReport {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private TokenReport() {}

  /**
   * The run's shape and targets.
   *
   * @param hiddenTpm the sim's hidden tokens-per-minute limit, what goodput is measured against
   * @param warmupWindows leading windows reported but not judged
   * @param targetGoodputPct per judged window, goodput ≥ this share of the hidden TPM; -1: not judged
   * @param target429Pct over the whole run, upstream 429 share ≤ this; -1: not judged
   */
  record Settings(int durationSeconds, int windowSeconds, long hiddenTpm, int warmupWindows, double targetGoodputPct,
      double target429Pct) {
    long windowNanos() {
      return windowSeconds * NANOS_PER_SECOND;
    }

    int windows() {
      return durationSeconds / windowSeconds;
    }
  }

  /**
   * One window's figures.
   *
   * @param upstream the sim's counter deltas over the window; null when a reading is missing
   * @param intervalSeconds the time between the two readings used
   * @param outcomes the non-2xx outcomes of the requests sent in the window: "status code" → n
   * @param queueP50Millis median {@code X-Sluice-Queue-Ms} of the requests sent in the window; NaN without any
   */
  record Window(int number, long startNanos, long endNanos, boolean judged, long offeredTokens, SimCounts upstream,
      double intervalSeconds, long callerTokens, int sent, int ok, Map<String, Integer> outcomes,
      double queueP50Millis, double queueMaxMillis, long maxSendLagNanos) {
    double offeredTpm() {
      return offeredTokens * 60.0 / ((endNanos - startNanos) / 1e9);
    }

    /** The sim's accepted tokens per minute; NaN when a reading is missing. */
    double goodputTpm() {
      return upstream == null || intervalSeconds <= 0 ? Double.NaN : upstream.acceptedTokens() * 60.0 / intervalSeconds;
    }

    double callerGoodputTpm() {
      return callerTokens * 60.0 / ((endNanos - startNanos) / 1e9);
    }
  }

  /** The whole run's upstream figures, from the first reading to the last (after the drain when there is one). */
  record Run(SimCounts upstream, double untilSeconds, boolean afterDrain, long callerTokens, int ok, int sent) {}

  /** The report: markdown, the same as JSON, and the judged checks' counts. */
  record Rendered(String markdown, ObjectNode json, int passes, int fails) {}

  /** The sim's counters in a sample ({@code {"sim":{...},"sluice":{...}}}); null when that read failed. */
  static JsonNode sim(Sample s) {
    if (s == null || s.body() == null) {
      return null;
    }
    JsonNode sim = s.body().get("sim");
    return sim == null || sim.isNull() ? null : sim;
  }

  /** Sluice's answer in a sample; null when that read failed. */
  static JsonNode sluice(Sample s) {
    if (s == null || s.body() == null) {
      return null;
    }
    JsonNode sluice = s.body().get("sluice");
    return sluice == null || sluice.isNull() ? null : sluice;
  }

  /** Index of the first sample taken at or after {@code nanos}; -1 when none was. */
  static int firstAtOrAfter(List<Sample> samples, long nanos) {
    for (int i = 0; i < samples.size(); i++) {
      if (samples.get(i).offsetNanos() >= nanos) {
        return i;
      }
    }
    return -1;
  }

  static List<Window> windows(Settings s, List<TokenCall> calls, List<Sample> samples) {
    List<Window> windows = new ArrayList<>();
    for (int w = 0; w < s.windows(); w++) {
      long ws = w * s.windowNanos();
      long we = ws + s.windowNanos();
      int i0 = firstAtOrAfter(samples, ws);
      int i1 = firstAtOrAfter(samples, we);
      SimCounts upstream = null;
      double interval = 0;
      if (i0 >= 0 && i1 > i0 && sim(samples.get(i0)) != null && sim(samples.get(i1)) != null) {
        upstream = SimCounts.of(sim(samples.get(i1))).minus(SimCounts.of(sim(samples.get(i0))));
        interval = (samples.get(i1).offsetNanos() - samples.get(i0).offsetNanos()) / 1e9;
      }
      long offered = 0;
      long callerTokens = 0;
      int sent = 0;
      int ok = 0;
      long maxLag = 0;
      Map<String, Integer> outcomes = new TreeMap<>();
      List<Double> queue = new ArrayList<>();
      for (TokenCall c : calls) {
        long answer = c.answerNanos();
        if (c.ok() && answer >= ws && answer < we && c.usageTokens() > 0) {
          callerTokens += c.usageTokens();
        }
        if (c.offsetNanos() < ws || c.offsetNanos() >= we) {
          continue;
        }
        sent++;
        offered += (long) c.promptTokens() + c.maxTokens();
        maxLag = Math.max(maxLag, c.sendLagNanos());
        if (c.queueMillis() >= 0) {
          queue.add(c.queueMillis());
        }
        String outcome = c.outcome();
        if (outcome == null) {
          ok++;
        } else {
          outcomes.merge(outcome, 1, Integer::sum);
        }
      }
      queue.sort(null);
      windows.add(new Window(w + 1, ws, we, w >= s.warmupWindows(), offered, upstream, interval, callerTokens, sent,
          ok, outcomes, Percentile.nearestRank(queue, 0.5), queue.isEmpty() ? Double.NaN : queue.getLast(),
          maxLag));
    }
    return windows;
  }

  /** The whole run: first reading to the one after the drain (else the last); null without the sim's counters. */
  static Run run(List<TokenCall> calls, List<Sample> samples, Sample afterDrain) {
    Sample first = samples.isEmpty() ? null : samples.getFirst();
    Sample last = sim(afterDrain) != null ? afterDrain : samples.isEmpty() ? null : samples.getLast();
    if (sim(first) == null || sim(last) == null) {
      return null;
    }
    long callerTokens = calls.stream().filter(c -> c.ok() && c.usageTokens() > 0).mapToLong(TokenCall::usageTokens)
        .sum();
    int ok = (int) calls.stream().filter(TokenCall::ok).count();
    return new Run(SimCounts.of(sim(last)).minus(SimCounts.of(sim(first))), last.offsetNanos() / 1e9,
        last == afterDrain, callerTokens, ok, calls.size());
  }

  /** A judged window's goodput verdict: null when the target is off. */
  static Boolean goodputPasses(Settings s, Window w) {
    if (s.targetGoodputPct() < 0) {
      return null;
    }
    double goodput = w.goodputTpm();
    return !Double.isNaN(goodput) && goodput >= s.targetGoodputPct() / 100 * s.hiddenTpm();
  }

  static Rendered render(Settings s, String heading, List<TokenCall> calls, List<Sample> samples, Sample afterDrain) {
    List<Window> windows = windows(s, calls, samples);
    Run run = run(calls, samples, afterDrain);
    StringBuilder md = new StringBuilder(heading).append("\n\n");
    boolean minutes = s.windowSeconds() == 60;
    String unit = minutes ? "min" : "window";
    md.append("| ").append(minutes ? "min" : "window of " + s.windowSeconds() + " s")
        .append(" | offered TPM | goodput TPM (sim) | % of hidden TPM | goodput TPM (callers' usage) | accepted | "
            + "upstream 429s: tokens / rate / too large / quota | 429 share % | Sluice's answers other than 2xx | "
            + "queue wait p50 / max s | Sluice at the end | goodput ≥ "
        + (s.targetGoodputPct() < 0 ? "-" : Ranges.text(s.targetGoodputPct()) + " %") + " |\n");
    md.append("|---:|---:|---:|---:|---:|---:|---|---:|---|---|---|---|\n");
    ArrayNode rows = JSON.createArrayNode();
    List<String> checks = new ArrayList<>();
    int passes = 0;
    int fails = 0;
    for (Window w : windows) {
      Boolean pass = goodputPasses(s, w);
      String verdict = pass == null ? "-" : w.judged() ? pf(pass) : "(" + pf(pass) + ")";
      if (pass != null && w.judged()) {
        if (pass) {
          passes++;
        } else {
          fails++;
        }
        checks.add(String.format(Locale.ROOT, "%s %d goodput %s (%s)", unit, w.number(), pf(pass),
            Double.isNaN(w.goodputTpm()) ? "the sim's counters are missing"
                : String.format(Locale.ROOT, "%,.0f TPM = %.1f %%", w.goodputTpm(),
                    100 * w.goodputTpm() / s.hiddenTpm())));
      }
      SimCounts u = w.upstream();
      JsonNode status = sluiceAt(samples, w.endNanos());
      md.append(String.format(Locale.ROOT, "| %d%s | %,.0f | %s | %s | %,.0f | %s | %s | %s | %s | %s | %s | %s |%n",
          w.number(), w.judged() ? "" : " (warm-up)", w.offeredTpm(),
          u == null ? "missing" : String.format(Locale.ROOT, "%,.0f", w.goodputTpm()),
          u == null ? "-" : String.format(Locale.ROOT, "%.1f", 100 * w.goodputTpm() / s.hiddenTpm()),
          w.callerGoodputTpm(), u == null ? "-" : Long.toString(u.accepted()),
          u == null ? "-" : u.byTokens() + " / " + u.byRate() + " / " + u.tooLarge() + " / " + u.byQuota(),
          u == null ? "-" : String.format(Locale.ROOT, "%.2f", 100 * u.share429()), outcomesText(w.outcomes()),
          Double.isNaN(w.queueP50Millis()) ? "-"
              : String.format(Locale.ROOT, "%.1f / %.1f", w.queueP50Millis() / 1000, w.queueMaxMillis() / 1000),
          backendText(status), verdict));
      ObjectNode row = rows.addObject();
      row.put("window", w.number());
      row.put("start_s", w.startNanos() / NANOS_PER_SECOND);
      row.put("end_s", w.endNanos() / NANOS_PER_SECOND);
      row.put("judged", w.judged());
      row.put("offered_tpm", w.offeredTpm());
      row.put("sim_interval_s", w.intervalSeconds());
      if (u != null) {
        row.put("goodput_tpm", w.goodputTpm());
        row.put("goodput_share_of_hidden_tpm", w.goodputTpm() / s.hiddenTpm());
        row.put("upstream_accepted", u.accepted());
        row.put("upstream_accepted_tokens", u.acceptedTokens());
        row.put("upstream_429", u.rejected429());
        row.put("upstream_429_tokens", u.byTokens());
        row.put("upstream_429_rate", u.byRate());
        row.put("upstream_429_too_large", u.tooLarge());
        row.put("upstream_quota_errors", u.byQuota());
        row.put("upstream_429_share", u.share429());
      }
      row.put("caller_goodput_tpm", w.callerGoodputTpm());
      row.put("sent", w.sent());
      row.put("ok", w.ok());
      ObjectNode outcomes = row.putObject("non_2xx");
      w.outcomes().forEach(outcomes::put);
      row.put("max_send_lag_s", w.maxSendLagNanos() / 1e9);
      row.put("goodput_verdict", verdict);
    }
    md.append('\n');
    if (s.warmupWindows() > 0 && !windows.isEmpty()) {
      md.append(String.format(Locale.ROOT, "The first %s reported but not judged: the callers' backlog in Sluice's "
          + "queue builds up in it, and until it has, what the seeded mix happens to offer can be less than the "
          + "limit.%n%n", s.warmupWindows() == 1 ? (minutes ? "minute" : "window") + " is"
              : s.warmupWindows() + (minutes ? " minutes are" : " windows are")));
    }

    ObjectNode json = JSON.createObjectNode();
    json.set("windows", rows);
    if (run == null) {
      md.append("Whole run: the sim's counters are missing, no figures.\n\n");
      if (s.target429Pct() >= 0) {
        fails++;
        checks.add("upstream 429 share FAIL (the sim's counters are missing)");
      }
    } else {
      SimCounts u = run.upstream();
      boolean pass = u.share429() * 100 <= s.target429Pct();
      String verdict = s.target429Pct() < 0 ? ""
          : " — target ≤ " + Ranges.text(s.target429Pct()) + " %: " + pf(pass);
      if (s.target429Pct() >= 0) {
        if (pass) {
          passes++;
        } else {
          fails++;
        }
        checks.add(String.format(Locale.ROOT, "upstream 429 share %s (%.2f %%)", pf(pass), 100 * u.share429()));
      }
      md.append(String.format(Locale.ROOT, "Whole run (0 s to %.1f s%s): %d upstream attempts = %d accepted + %d "
          + "429s (tokens %d, rate %d, too large %d, quota %d), upstream 429 share %.2f %%%s. Tokens accepted: %,d by "
          + "the sim's count, %,d by the callers' usage (%d of %d requests answered 2xx).%n%n", run.untilSeconds(),
          run.afterDrain() ? ", after the drain" : ", the last reading; the one after the drain is missing",
          u.attempts(), u.accepted(), u.rejected429(), u.byTokens(), u.byRate(), u.tooLarge(), u.byQuota(),
          100 * u.share429(), verdict, u.acceptedTokens(), run.callerTokens(), run.ok(), run.sent()));
      ObjectNode r = json.putObject("run");
      r.put("until_s", run.untilSeconds());
      r.put("after_drain", run.afterDrain());
      r.put("upstream_attempts", u.attempts());
      r.put("upstream_accepted", u.accepted());
      r.put("upstream_accepted_tokens", u.acceptedTokens());
      r.put("upstream_429", u.rejected429());
      r.put("upstream_429_share", u.share429());
      r.put("caller_tokens", run.callerTokens());
      r.put("ok", run.ok());
      r.put("sent", run.sent());
    }
    md.append(String.format(Locale.ROOT, "Checks: %s. Judged: %d PASS, %d FAIL.%n%n",
        checks.isEmpty() ? "none (targets off)" : String.join("; ", checks), passes, fails));
    json.put("judged_pass", passes);
    json.put("judged_fail", fails);
    ArrayNode c = json.putArray("checks");
    checks.forEach(c::add);
    return new Rendered(md.toString(), json, passes, fails);
  }

  /** Sluice's reading nearest after {@code nanos} (within 10 s), or null. */
  private static JsonNode sluiceAt(List<Sample> samples, long nanos) {
    int i = firstAtOrAfter(samples, nanos);
    return i < 0 || samples.get(i).offsetNanos() - nanos > 10 * NANOS_PER_SECOND ? null : sluice(samples.get(i));
  }

  /** The first backend's queue, tokens-per-minute budget and the provider's remaining counts, from /status. */
  static String backendText(JsonNode status) {
    if (status == null) {
      return "-";
    }
    JsonNode pool = status.path("pools").path(0);
    JsonNode backend = pool.path("backends").path(0);
    List<String> parts = new ArrayList<>();
    if (pool.path("queue").has("size")) {
      parts.add("queue " + pool.path("queue").path("size").asInt());
    }
    if (backend.hasNonNull("tpm_available")) {
      parts.add("tpm left " + backend.path("tpm_available").asLong());
    }
    if (backend.hasNonNull("provider_remaining_tokens")) {
      parts.add("provider's tokens left " + backend.path("provider_remaining_tokens").asLong());
    }
    if (backend.path("retreat").has("effective_rpm")) {
      parts.add(backend.path("retreat").path("state").asText() + " " + backend.path("retreat").path("effective_rpm")
          .asInt() + " rpm");
    }
    return parts.isEmpty() ? "-" : String.join(", ", parts);
  }

  static String outcomesText(Map<String, Integer> outcomes) {
    if (outcomes.isEmpty()) {
      return "-";
    }
    StringBuilder text = new StringBuilder();
    outcomes.forEach((k, v) -> text.append(text.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
    return text.toString();
  }

  static String pf(boolean pass) {
    return pass ? "PASS" : "FAIL";
  }
}
