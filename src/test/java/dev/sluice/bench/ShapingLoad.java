package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * Traffic-shaping benchmark driver (bench/shaping.sh): an open-loop stream of non-streaming chat completions with
 * seeded {@code X-Priority} values (or all {@code normal}), sent at a fixed rate through Sluice or straight at the
 * simulated provider, while the sim's counters are sampled at exact window boundaries (and once more when the last
 * answer is in) and Sluice's {@code /status} every few seconds. Optionally lowers the sim's hidden limit mid-run
 * with {@code POST /sim/config}. Writes raw data (requests.csv, sim-stats.jsonl, status.jsonl) and a per-window
 * report with PASS/MISS per target, plus a whole-run line on the upstream 429s (windows.json, section.md).
 *
 * <p>Options (picocli; {@code --help} lists them): scenario, target (chat completions URL), sim (sim base URL,
 * e.g. http://127.0.0.1:9310), status (Sluice /status URL; optional), rate (req/s, default 20), duration (s),
 * window (s, default 60), seed (default 42), arrivals (even|poisson, default even), priorities (mixed|normal,
 * default mixed), model (default nvidia/llama-3.1-8b), limit (hidden RPM at start), drop-at (s; optional),
 * drop-rpm, client-timeout (s, default 120), deadline-seconds (when an answer counts as past its deadline;
 * optional), status-every (s, default 5), out (directory), report-only (rebuild the report from the raw files
 * already in {@code out}, sending nothing), and the targets: target-goodput-pct (95), target-429-pct (2),
 * target-urgent-p99-ms (2000), target-unanswered (0) and target-past-deadline (off) per window after the first,
 * target-429-run (off) over the whole run; -1 reports a figure without judging it. An unknown option or a bad
 * value ends the process with exit code 2 and a message naming the option.
 *
 * <p>Bounded: exactly {@code rate × duration} requests, then at most {@code client-timeout + 15} s of waiting;
 * requests still open then are cancelled and count as unanswered. Thread-safety: one sender thread, one virtual
 * thread per request writing only its own slot, two sampler threads writing their own lists (read after join).
 */
@Command(name = "ShapingLoad", mixinStandardHelpOptions = true,
    description = "Open-loop chat completions with seeded priorities, judged per window against the hidden limit.")
public final class ShapingLoad implements Callable<Integer> {
  private static final String[] PRIORITIES = Schedule.PRIORITIES;
  /** The model sent unless {@code --model} names another. */
  static final String DEFAULT_MODEL = "nvidia/llama-3.1-8b";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One request's record; written by its own virtual thread only, read after the run. */
  private static final class Rec {
    long offsetNanos;       // intended send time, from the run's start
    long sentLagNanos;      // actual send minus intended
    int priority;
    int status;             // 0 = no answer
    String code = "";
    long latencyNanos = -1; // from the intended send instant to the whole answer
    boolean answered;
    String failure = "";
  }

  /** How requests are spaced in time. */
  enum Arrivals { EVEN, POISSON }

  /** Which {@code X-Priority} values are sent: the seeded mix, or {@code normal} on every request. */
  enum Priorities { MIXED, NORMAL }

  @Spec
  CommandSpec spec;

  @Option(names = "--scenario", defaultValue = "run", description = "Name of the scenario in the report.")
  String scenario;

  @Option(names = "--target", required = true, paramLabel = "URL", description = "Chat completions URL to load.")
  URI target;

  @Option(names = "--sim", required = true, paramLabel = "URL",
      description = "The simulated provider's base URL, e.g. http://127.0.0.1:9310.")
  String simBase;

  @Option(names = "--status", paramLabel = "URL", description = "Sluice's /status URL, sampled during the run.")
  URI statusUri;

  @Option(names = "--rate", defaultValue = "20", paramLabel = "REQ/S",
      description = "Requests per second, 1..1000; default ${DEFAULT-VALUE}.")
  double rate;

  @Option(names = "--duration", required = true, paramLabel = "S", description = "Seconds of sending, 1..3600.")
  int duration;

  @Option(names = "--window", defaultValue = "60", paramLabel = "S",
      description = "Seconds per report window, 1..duration; default ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the schedule; default ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--arrivals", defaultValue = "even", paramLabel = "even|poisson",
      description = "Arrival process; default ${DEFAULT-VALUE}.")
  Arrivals arrivals;

  @Option(names = "--priorities", defaultValue = "mixed", paramLabel = "mixed|normal",
      description = "X-Priority of the requests: mixed (10 % urgent, 20 % high, 40 % normal, 30 % low, seeded) or "
          + "normal on every one; default ${DEFAULT-VALUE}.")
  Priorities priorities;

  @Option(names = "--model", defaultValue = DEFAULT_MODEL, paramLabel = "ID",
      description = "The model of every request; default ${DEFAULT-VALUE}.")
  String model;

  @Option(names = "--limit", required = true, paramLabel = "RPM", description = "The sim's hidden limit at start.")
  int limit;

  @Option(names = "--drop-at", defaultValue = "-1", paramLabel = "S",
      description = "Second at which the hidden limit drops; -1 (the default) never.")
  int dropAt;

  @Option(names = "--drop-rpm", defaultValue = "300", paramLabel = "RPM",
      description = "The hidden limit after the drop; default ${DEFAULT-VALUE}.")
  int dropRpm;

  @Option(names = "--client-timeout", defaultValue = "120", paramLabel = "S",
      description = "Per-request timeout, 1..600; default ${DEFAULT-VALUE}.")
  int clientTimeout;

  @Option(names = "--deadline-seconds", defaultValue = "-1", paramLabel = "S",
      description = "An answer later than S after its intended send is past its deadline (Sluice's timeout plus the "
          + "provider's largest latency plus slack), 1..3600; -1 (the default): not counted.")
  int deadlineSeconds;

  @Option(names = "--target-goodput-pct", defaultValue = "95", paramLabel = "PCT",
      description = "Per window after the first: goodput >= PCT % of the hidden limit, 0..100; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double targetGoodputPct;

  @Option(names = "--target-429-pct", defaultValue = "2", paramLabel = "PCT",
      description = "Per window after the first: upstream 429 share <= PCT %, 0..100; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double target429Pct;

  @Option(names = "--target-urgent-p99-ms", defaultValue = "2000", paramLabel = "MS",
      description = "Per window after the first: p99 of urgent answers <= MS, 0..600000; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double targetUrgentP99Millis;

  @Option(names = "--target-unanswered", defaultValue = "0", paramLabel = "N",
      description = "Per window after the first: at most N requests sent in it without an answer, 0..1000000; "
          + "-1: not judged; default ${DEFAULT-VALUE}.")
  int targetUnanswered;

  @Option(names = "--target-past-deadline", defaultValue = "-1", paramLabel = "N",
      description = "Per window after the first: at most N answers past --deadline-seconds, 0..1000000; -1 (the "
          + "default): not judged.")
  int targetPastDeadline;

  @Option(names = "--target-429-run", defaultValue = "-1", paramLabel = "PCT",
      description = "Over the whole run (every send and the drain): upstream 429 share <= PCT %, 0..100; -1 (the "
          + "default): not judged.")
  double target429RunPct;

  @Option(names = "--status-every", defaultValue = "5", paramLabel = "S",
      description = "Seconds between /status samples, 1..600; default ${DEFAULT-VALUE}.")
  int statusEvery;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for raw data and report.")
  Path out;

  @Option(names = "--report-only", arity = "0..1", paramLabel = "true|false",
      description = "Rebuild the report from the raw files already in --out, sending nothing.")
  boolean reportOnly;

  public static void main(String[] argv) {
    System.exit(commandLine().execute(argv));
  }

  /** The command line as {@link #main} runs it. */
  static CommandLine commandLine() {
    return new CommandLine(new ShapingLoad()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public Integer call() throws Exception {
    Ranges.require(spec, "--rate", rate, 1, 1_000);
    Ranges.require(spec, "--duration", duration, 1, 3_600);
    Ranges.require(spec, "--window", window, 1, duration);
    Ranges.require(spec, "--client-timeout", clientTimeout, 1, 600);
    Ranges.require(spec, "--status-every", statusEvery, 1, 600);
    Ranges.requireOrOff(spec, "--deadline-seconds", deadlineSeconds, 1, 3_600);
    Ranges.requireOrOff(spec, "--target-goodput-pct", targetGoodputPct, 0, 100);
    Ranges.requireOrOff(spec, "--target-429-pct", target429Pct, 0, 100);
    Ranges.requireOrOff(spec, "--target-urgent-p99-ms", targetUrgentP99Millis, 0, 600_000);
    Ranges.requireOrOff(spec, "--target-unanswered", targetUnanswered, 0, 1_000_000);
    Ranges.requireOrOff(spec, "--target-past-deadline", targetPastDeadline, 0, 1_000_000);
    Ranges.requireOrOff(spec, "--target-429-run", target429RunPct, 0, 100);
    if (targetPastDeadline >= 0 && deadlineSeconds < 0) {
      throw new ParameterException(spec.commandLine(), "--target-past-deadline needs --deadline-seconds");
    }
    if (model.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--model must not be blank");
    }
    Files.createDirectories(out);
    if (reportOnly) {
      reportOnly();
      return 0;
    }
    boolean poisson = arrivals == Arrivals.POISSON;
    String body = requestBody(model);

    // ---- the schedule: send offsets and priorities, both from the fixed seed ----
    Schedule schedule = Schedule.of(rate, duration, seed, poisson, priorities == Priorities.NORMAL);
    int count = schedule.count();
    Rec[] recs = new Rec[count];
    for (int i = 0; i < count; i++) {
      Rec r = new Rec();
      r.offsetNanos = schedule.offsetNanos(i);
      r.priority = schedule.priority(i);
      recs[i] = r;
    }

    Control control = new Control(Duration.ofSeconds(5));
    JsonNode baseline = control.get(URI.create(simBase + "/sim/stats"));
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
    long end = start + duration * 1_000_000_000L;
    AtomicBoolean drained = new AtomicBoolean();

    // ---- sampler 1: the sim's counters at exact window boundaries, and the limit drop ----
    List<Sample> simSamples = new ArrayList<>();
    List<String> events = new ArrayList<>();
    Thread simSampler = Thread.ofPlatform().name("sim-sampler").start(() -> {
      int windows = duration / window;
      boolean dropped = dropAt < 0;
      for (int k = 0; k <= windows; k++) {
        long at = start + k * (long) window * 1_000_000_000L;
        Sampler.parkUntil(at);
        JsonNode stats = k == 0 ? baseline : control.getOrNull(URI.create(simBase + "/sim/stats"));
        simSamples.add(new Sample(k == 0 ? 0 : System.nanoTime() - start, stats));
        long dropNanos = start + dropAt * 1_000_000_000L;
        if (!dropped && dropNanos < at + (long) window * 1_000_000_000L) {
          Sampler.parkUntil(dropNanos);
          dropped = true;
          try {
            JsonNode cfg = control.post(URI.create(simBase + "/sim/config"), "{\"rpm\":" + dropRpm + "}");
            events.add(String.format(Locale.ROOT, "t=%.3fs POST /sim/config {\"rpm\":%d} -> rpm %s",
                (System.nanoTime() - start) / 1e9, dropRpm, cfg.path("rpm").asText()));
          } catch (Exception e) {
            events.add("drop failed: " + e);
          }
        }
      }
    });

    // ---- sampler 2: Sluice's /status every statusEvery seconds (from 0 to the end of the run and the drain) ----
    Sampler statusSampler = statusUri == null ? null : new Sampler("status-sampler", start,
        statusEvery * 1_000_000_000L, end, (duration + clientTimeout + 20L) / statusEvery + 2, drained,
        () -> control.getOrNull(statusUri));

    // ---- the open loop ----
    long[] offsets = new long[count];
    for (int i = 0; i < count; i++) {
      offsets[i] = recs[i].offsetNanos;
    }
    List<Sample> statusSamples;
    try (OpenSender sender = new OpenSender(Duration.ofSeconds(10))) {
      sender.send(start, offsets, i -> HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(clientTimeout))
          .header("Content-Type", "application/json").header("X-Priority", PRIORITIES[recs[i].priority])
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), (i, reply) -> {
            Rec r = recs[i];
            r.sentLagNanos = reply.sendLagNanos();
            r.latencyNanos = reply.latencyNanos();
            r.status = reply.status();
            r.answered = reply.answered();
            r.failure = reply.failure();
            if (r.answered && r.status != 200) {
              r.code = reply.errorCode();
            }
          }, clientTimeout + 15L);
      drained.set(true);
      simSampler.join(TimeUnit.SECONDS.toMillis(window + 30L));
      statusSamples = statusSampler == null ? new ArrayList<>()
          : statusSampler.join(TimeUnit.SECONDS.toMillis(statusEvery + 30L));
    }
    long drainSeconds = (System.nanoTime() - end) / 1_000_000_000L;
    // the whole run's upstream attempts include those made for requests answered during the drain
    Sample afterDrain = new Sample(System.nanoTime() - start, control.getOrNull(URI.create(simBase + "/sim/stats")));

    // ---- raw data ----
    StringBuilder csv = new StringBuilder("index,send_ms,send_lag_ms,priority,status,code,latency_ms,answered,failure\n");
    for (int i = 0; i < count; i++) {
      Rec r = recs[i];
      csv.append(i).append(',').append(fmt3(r.offsetNanos / 1e6)).append(',').append(fmt3(r.sentLagNanos / 1e6))
          .append(',').append(PRIORITIES[r.priority]).append(',').append(r.status).append(',').append(r.code)
          .append(',').append(r.latencyNanos < 0 ? "" : fmt3(r.latencyNanos / 1e6)).append(',').append(r.answered)
          .append(',').append(r.failure).append('\n');
    }
    Files.writeString(out.resolve("requests.csv"), csv);
    List<Sample> simLines = new ArrayList<>(simSamples);
    simLines.add(new Sample(afterDrain.offsetNanos(), afterDrain.body(), true));
    Sample.write(out.resolve("sim-stats.jsonl"), simLines);
    Sample.write(out.resolve("status.jsonl"), statusSamples);

    Files.writeString(out.resolve("events.txt"), events.isEmpty() ? "" : String.join("\n", events) + "\n");
    Files.writeString(out.resolve("run.txt"), "count=" + count + "\ndrain_s=" + drainSeconds + "\n");
    report(recs, count, simSamples, afterDrain, statusSamples, events, drainSeconds);
    return 0;
  }

  /**
   * A per-window verdict: "-" for a target not set, "n/a" when {@code pass} is null (nothing to judge), else PASS or
   * MISS, in parentheses in a window that is not judged.
   */
  private static String verdict(boolean on, boolean judgedWindow, Boolean pass) {
    if (!on) {
      return "-";
    }
    if (pass == null) {
      return "n/a";
    }
    return judgedWindow ? pm(pass) : "(" + pm(pass) + ")";
  }

  /** The per-window report and the whole-run line from the raw data, to windows.json, section.md and stdout. */
  private void report(Rec[] recs, int count, List<Sample> simSamples, Sample afterDrain, List<Sample> statusSamples,
      List<String> events, long drainSeconds) throws IOException {
    boolean poisson = arrivals == Arrivals.POISSON;
    int windows = duration / window;
    ArrayNode rows = JSON.createArrayNode();
    List<String> misses = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    int judgedPass = 0;
    int judgedMiss = 0;
    StringBuilder md = new StringBuilder();
    String unit = window == 60 ? "min" : window + "s-win";
    md.append("### Scenario `").append(scenario).append("`\n\n");
    md.append(String.format(Locale.ROOT, "%d requests offered over %d s (%.1f req/s, %s arrivals, seed %d, %s, "
        + "model %s) to %s; hidden limit %d RPM%s; windows of %d s; %sdrain after the last send: %d s.%n%n", count,
        duration, rate, poisson ? "Poisson" : "evenly spaced", seed,
        priorities == Priorities.NORMAL ? "all normal" : "mixed priorities", model, target, limit,
        dropAt >= 0 ? " → " + dropRpm + " RPM at " + dropAt + " s" : "", window,
        deadlineSeconds > 0 ? "deadline " + deadlineSeconds + " s after the intended send; " : "", drainSeconds));
    events.forEach(e -> md.append("- event: ").append(e).append('\n'));
    if (!events.isEmpty()) {
      md.append('\n');
    }
    md.append("| ").append(unit).append(" | limit | goodput rpm | % of limit | upstream 429 % | 200s | "
        + "urgent p50/p99 s | high p50/p99 s | normal p50/p99 s | low p50/p99 s | non-200 answers | no answer | "
        + "past deadline | send lag max s | retreat at end | goodput | 429 | urgent p99 | answered | on time |\n");
    md.append("|---:|---:|---:|---:|---:|---:|---|---|---|---|---|---:|---:|---:|---|---|---|---|---|---|\n");
    String[] names = {"goodput", "429 share", "urgent p99", "answered", "on time"};
    boolean[] on = {targetGoodputPct >= 0, target429Pct >= 0, targetUrgentP99Millis >= 0, targetUnanswered >= 0,
        targetPastDeadline >= 0};
    long deadlineNanos = deadlineSeconds * 1_000_000_000L;
    for (int w = 0; w < windows && w + 1 < simSamples.size(); w++) {
      long ws = (long) w * window * 1_000_000_000L;
      long we = ws + (long) window * 1_000_000_000L;
      JsonNode s0 = simSamples.get(w).body();
      JsonNode s1 = simSamples.get(w + 1).body();
      long accepted = s0 == null || s1 == null ? -1 : s1.path("accepted").asLong() - s0.path("accepted").asLong();
      long rejected = s0 == null || s1 == null ? -1
          : s1.path("rejected_429").asLong() - s0.path("rejected_429").asLong();
      // normalised by the interval actually sampled (a loaded machine can delay a sample)
      double intervalSeconds = (simSamples.get(w + 1).offsetNanos() - simSamples.get(w).offsetNanos()) / 1e9;
      double goodputRpm = accepted * 60.0 / intervalSeconds;
      double startLate = simSamples.get(w).offsetNanos() / 1e9 - ws / 1e9;
      double sampleLate = simSamples.get(w + 1).offsetNanos() / 1e9 - we / 1e9;
      if (Math.abs(sampleLate) > 1.0 || Math.abs(startLate) > 1.0) {
        notes.add(String.format(Locale.ROOT, "%s %d: the sim's counters were sampled at %.1f s and %.1f s "
            + "(a loaded machine delayed the sampler); goodput is the delta over the %.1f s actually covered",
            unit, w + 1, simSamples.get(w).offsetNanos() / 1e9, simSamples.get(w + 1).offsetNanos() / 1e9,
            intervalSeconds));
      }
      double share429 = accepted + rejected == 0 ? 0 : (double) rejected / (accepted + rejected);
      // the hidden limit in force and whether this window is judged
      boolean afterDrop = dropAt >= 0 && we > dropAt * 1_000_000_000L;
      int windowLimit = afterDrop ? dropRpm : limit;
      String judged;
      if (w == 0) {
        judged = "warm-up";
      } else if (dropAt >= 0 && afterDrop && ws < (dropAt + (long) window) * 1_000_000_000L) {
        judged = "transition";
      } else {
        judged = "judged";
      }
      List<List<Double>> lat = new ArrayList<>();
      for (int p = 0; p < PRIORITIES.length; p++) {
        lat.add(new ArrayList<>());
      }
      Map<String, Integer> refused = new TreeMap<>();
      int ok = 0;
      int sent = 0;
      int unanswered = 0;
      int pastDeadline = 0;
      int urgentSent = 0;
      long maxLag = 0;
      for (int i = 0; i < count; i++) {
        Rec r = recs[i];
        if (r.offsetNanos < ws || r.offsetNanos >= we) {
          continue;
        }
        sent++;
        if (r.priority == 0) {
          urgentSent++;
        }
        maxLag = Math.max(maxLag, r.sentLagNanos);
        if (!r.answered) {
          unanswered++;
          continue;
        }
        if (deadlineSeconds > 0 && r.latencyNanos > deadlineNanos) {
          pastDeadline++;
        }
        if (r.status == 200) {
          ok++;
          lat.get(r.priority).add(r.latencyNanos / 1e9);
        } else {
          refused.merge(r.status + " " + (r.code.isEmpty() ? "-" : r.code), 1, Integer::sum);
        }
      }
      double[] p50 = new double[PRIORITIES.length];
      double[] p99 = new double[PRIORITIES.length];
      for (int p = 0; p < PRIORITIES.length; p++) {
        List<Double> l = lat.get(p);
        l.sort(null);
        p50[p] = Percentile.nearestRank(l, 0.50);
        p99[p] = Percentile.nearestRank(l, 0.99);
      }
      List<Double> urgentFromSend = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        Rec r = recs[i];
        if (r.offsetNanos >= ws && r.offsetNanos < we && r.answered && r.status == 200 && r.priority == 0) {
          urgentFromSend.add((r.latencyNanos - r.sentLagNanos) / 1e9);
        }
      }
      urgentFromSend.sort(null);
      double urgentP99FromSend = Percentile.nearestRank(urgentFromSend, 0.99);
      if (maxLag > 1_000_000_000L) {
        notes.add(String.format(Locale.ROOT, "%s %d: the driver itself sent up to %.1f s late (the machine stalled); "
            + "urgent p99 counted from the actual send instead of the intended one: %.2f s", unit, w + 1,
            maxLag / 1e9, urgentP99FromSend));
      }
      JsonNode st = statusAt(statusSamples, we);
      JsonNode backend = st == null ? null : st.path("pools").path(0).path("backends").path(0);
      JsonNode retreat = backend == null ? null : backend.path("retreat");
      String retreatText = retreat == null || retreat.isMissingNode() ? "-"
          : retreat.path("state").asText() + " " + retreat.path("effective_rpm").asInt() + " rpm";
      int queue = st == null ? -1 : st.path("pools").path(0).path("queue").path("size").asInt(-1);

      boolean isJudged = judged.equals("judged");
      // a missing sim sample fails the sim's targets; null: nothing to judge (no urgent request sent)
      Boolean[] passes = {
          accepted >= 0 && goodputRpm >= targetGoodputPct / 100 * windowLimit,
          rejected >= 0 && share429 * 100 <= target429Pct,
          urgentSent == 0 ? null : !Double.isNaN(p99[0]) && p99[0] * 1000 <= targetUrgentP99Millis,
          unanswered <= targetUnanswered,
          pastDeadline <= targetPastDeadline};
      String[] verdicts = new String[names.length];
      for (int k = 0; k < names.length; k++) {
        verdicts[k] = verdict(on[k], isJudged, passes[k]);
        if (on[k] && isJudged && passes[k] != null) {
          if (passes[k]) {
            judgedPass++;
          } else {
            judgedMiss++;
            misses.add(unit + " " + (w + 1) + " " + names[k]);
          }
        }
      }
      StringBuilder refusedText = new StringBuilder();
      refused.forEach((k, v) -> refusedText.append(refusedText.isEmpty() ? "" : ", ").append(k).append(": ").append(v));
      md.append(String.format(Locale.ROOT, "| %d%s | %d | %.0f | %.1f | %.1f | %d | %s | %s | %s | %s | %s | %d | %s "
          + "| %.2f | %s%s | %s | %s | %s | %s | %s |%n",
          w + 1, isJudged ? "" : " (" + judged + ")", windowLimit, goodputRpm, goodputRpm * 100 / windowLimit,
          share429 * 100, ok, pair(p50[0], p99[0]), pair(p50[1], p99[1]), pair(p50[2], p99[2]), pair(p50[3], p99[3]),
          refusedText.isEmpty() ? "-" : refusedText.toString(), unanswered,
          deadlineSeconds > 0 ? Integer.toString(pastDeadline) : "-", maxLag / 1e9, retreatText,
          queue >= 0 ? ", queue " + queue : "", verdicts[0], verdicts[1], verdicts[2], verdicts[3], verdicts[4]));

      ObjectNode row = rows.addObject();
      row.put("window", w + 1);
      row.put("start_s", ws / 1_000_000_000L);
      row.put("end_s", we / 1_000_000_000L);
      row.put("judged", judged);
      row.put("limit_rpm", windowLimit);
      row.put("sim_sample_s", simSamples.get(w + 1).offsetNanos() / 1e9);
      row.put("sim_interval_s", intervalSeconds);
      row.put("upstream_accepted", accepted);
      row.put("upstream_rejected_429", rejected);
      row.put("goodput_rpm", goodputRpm);
      row.put("goodput_share_of_limit", goodputRpm / windowLimit);
      row.put("upstream_429_share", share429);
      row.put("offered", sent);
      row.put("ok_200", ok);
      ObjectNode latency = row.putObject("latency_s");
      for (int p = 0; p < PRIORITIES.length; p++) {
        ObjectNode l = latency.putObject(PRIORITIES[p]);
        l.put("n", lat.get(p).size());
        l.put("p50", p50[p]);
        l.put("p99", p99[p]);
      }
      ObjectNode ref = row.putObject("non_200");
      refused.forEach(ref::put);
      row.put("unanswered", unanswered);
      if (deadlineSeconds > 0) {
        row.put("past_deadline", pastDeadline);
      }
      row.put("max_send_lag_s", maxLag / 1e9);
      row.put("urgent_p99_from_actual_send_s", urgentP99FromSend);
      if (retreat != null && !retreat.isMissingNode()) {
        row.set("retreat_at_end", retreat);
        row.put("queue_size_at_end", queue);
      }
      ObjectNode v = row.putObject("targets");
      for (int k = 0; k < names.length; k++) {
        v.put(names[k], verdicts[k]);
      }
    }
    md.append('\n');

    // ---- the whole run: every upstream attempt from the first send to the last answer ----
    ObjectNode run = JSON.createObjectNode();
    Sample last = afterDrain != null && afterDrain.body() != null ? afterDrain
        : simSamples.isEmpty() ? null : simSamples.getLast();
    JsonNode first = simSamples.isEmpty() ? null : simSamples.getFirst().body();
    if (first != null && last != null && last.body() != null) {
      long accepted = last.body().path("accepted").asLong() - first.path("accepted").asLong();
      long rejected = last.body().path("rejected_429").asLong() - first.path("rejected_429").asLong();
      long attempts = accepted + rejected;
      double share = attempts == 0 ? 0 : (double) rejected / attempts;
      long answered = 0;
      long pastDeadline = 0;
      for (int i = 0; i < count; i++) {
        if (recs[i].answered) {
          answered++;
          if (deadlineSeconds > 0 && recs[i].latencyNanos > deadlineNanos) {
            pastDeadline++;
          }
        }
      }
      String verdict = target429RunPct < 0 ? "" : " — target ≤ " + Ranges.text(target429RunPct) + " %: "
          + pm(share * 100 <= target429RunPct);
      if (target429RunPct >= 0) {
        if (share * 100 <= target429RunPct) {
          judgedPass++;
        } else {
          judgedMiss++;
          misses.add("whole run 429 share");
        }
      }
      md.append(String.format(Locale.ROOT, "Whole run (0 s to %.1f s%s): upstream attempts %d = %d accepted + %d "
          + "429s, upstream 429 share %.2f %%%s. Answered %d of %d%s.%n%n", last.offsetNanos() / 1e9,
          last == afterDrain ? ", after the drain" : ", the end of the last window; the count after the drain is "
              + "missing", attempts, accepted, rejected, share * 100, verdict, answered, count,
          deadlineSeconds > 0 ? ", " + pastDeadline + " past the " + deadlineSeconds + " s deadline" : ""));
      run.put("until_s", last.offsetNanos() / 1e9);
      run.put("after_drain", last == afterDrain);
      run.put("upstream_attempts", attempts);
      run.put("upstream_accepted", accepted);
      run.put("upstream_rejected_429", rejected);
      run.put("upstream_429_share", share);
      run.put("answered", answered);
      if (deadlineSeconds > 0) {
        run.put("past_deadline", pastDeadline);
      }
      run.put("target_429_share", target429RunPct < 0 ? "-" : pm(share * 100 <= target429RunPct));
    } else {
      md.append("Whole run: the sim's counters are missing, no figures.\n\n");
      if (target429RunPct >= 0) {
        judgedMiss++;
        misses.add("whole run 429 share");
      }
      run.put("target_429_share", target429RunPct < 0 ? "-" : "MISS");
    }
    notes.forEach(n -> md.append("- note: ").append(n).append('\n'));
    if (!notes.isEmpty()) {
      md.append('\n');
    }
    md.append(String.format(Locale.ROOT, "Targets: %s. Judged: %d PASS, %d MISS%s (verdicts in parentheses are in "
        + "windows not judged; - is a target not set, n/a one with nothing to judge).%n%n", targetsText(), judgedPass,
        judgedMiss, misses.isEmpty() ? "" : " — MISS: " + String.join("; ", misses)));

    ObjectNode report = JSON.createObjectNode();
    report.put("scenario", scenario);
    report.put("target", target.toString());
    report.put("offered", count);
    report.put("rate", rate);
    report.put("duration_s", duration);
    report.put("window_s", window);
    report.put("seed", seed);
    report.put("arrivals", poisson ? "poisson" : "even");
    report.put("priorities", priorities.name().toLowerCase(Locale.ROOT));
    report.put("model", model);
    report.put("limit_rpm", limit);
    report.put("drop_at_s", dropAt);
    report.put("drop_rpm", dropRpm);
    report.put("deadline_s", deadlineSeconds);
    report.put("drain_s", drainSeconds);
    ObjectNode targets = report.putObject("targets");
    targets.put("goodput_pct", targetGoodputPct);
    targets.put("upstream_429_pct", target429Pct);
    targets.put("urgent_p99_ms", targetUrgentP99Millis);
    targets.put("unanswered", targetUnanswered);
    targets.put("past_deadline", targetPastDeadline);
    targets.put("run_upstream_429_pct", target429RunPct);
    report.put("judged_pass", judgedPass);
    report.put("judged_miss", judgedMiss);
    ArrayNode ev = report.putArray("events");
    events.forEach(ev::add);
    report.set("windows", rows);
    report.set("run", run);
    Files.writeString(out.resolve("windows.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
    Files.writeString(out.resolve("section.md"), md);
    System.out.print(md);
    System.out.flush();
  }

  /** The targets in force, in words: "goodput ≥ 95 % of the limit, ...". */
  private String targetsText() {
    List<String> t = new ArrayList<>();
    if (targetGoodputPct >= 0) {
      t.add("goodput ≥ " + Ranges.text(targetGoodputPct) + " % of the limit");
    }
    if (target429Pct >= 0) {
      t.add("upstream 429 share ≤ " + Ranges.text(target429Pct) + " %");
    }
    if (targetUrgentP99Millis >= 0) {
      t.add("urgent p99 ≤ " + Ranges.text(targetUrgentP99Millis / 1000) + " s");
    }
    if (targetUnanswered >= 0) {
      t.add(targetUnanswered == 0 ? "every request answered" : "at most " + targetUnanswered + " unanswered");
    }
    if (targetPastDeadline >= 0) {
      t.add(targetPastDeadline == 0 ? "none past its deadline" : "at most " + targetPastDeadline + " past deadline");
    }
    String perWindow = t.isEmpty() ? "none per window" : String.join(", ", t) + " per window after the first";
    return target429RunPct < 0 ? perWindow
        : perWindow + "; upstream 429 share ≤ " + Ranges.text(target429RunPct) + " % over the whole run";
  }

  /** Rebuilds the report from a finished run's raw files in {@code out}. */
  private void reportOnly() throws IOException {
    List<String> lines = Files.readAllLines(out.resolve("requests.csv"));
    Rec[] recs = new Rec[lines.size() - 1];
    List<String> priorityNames = List.of(PRIORITIES);
    for (int i = 1; i < lines.size(); i++) {
      String[] f = lines.get(i).split(",", -1);
      Rec r = new Rec();
      r.offsetNanos = (long) (Double.parseDouble(f[1]) * 1e6);
      r.sentLagNanos = (long) (Double.parseDouble(f[2]) * 1e6);
      r.priority = priorityNames.indexOf(f[3]);
      r.status = Integer.parseInt(f[4]);
      r.code = f[5];
      r.latencyNanos = f[6].isEmpty() ? -1 : (long) (Double.parseDouble(f[6]) * 1e6);
      r.answered = Boolean.parseBoolean(f[7]);
      r.failure = f[8];
      recs[i - 1] = r;
    }
    List<String> events = Files.exists(out.resolve("events.txt"))
        ? Files.readAllLines(out.resolve("events.txt")).stream().filter(l -> !l.isBlank()).toList() : List.of();
    long drain = -1;
    if (Files.exists(out.resolve("run.txt"))) {
      for (String l : Files.readAllLines(out.resolve("run.txt"))) {
        if (l.startsWith("drain_s=")) {
          drain = Long.parseLong(l.substring("drain_s=".length()));
        }
      }
    }
    List<Sample> simSamples = new ArrayList<>(Sample.read(out.resolve("sim-stats.jsonl")));
    Sample afterDrain = null;
    if (!simSamples.isEmpty() && simSamples.getLast().afterDrain()) {
      afterDrain = simSamples.removeLast();
    }
    report(recs, recs.length, simSamples, afterDrain, Sample.read(out.resolve("status.jsonl")), events, drain);
  }

  private static String pm(boolean pass) {
    return pass ? "PASS" : "MISS";
  }

  private static String pair(double p50, double p99) {
    return Double.isNaN(p50) ? "-" : String.format(Locale.ROOT, "%.2f/%.2f", p50, p99);
  }

  private static String fmt3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }

  /** The /status sample closest to {@code offsetNanos} (within half a sampling period either side, else null). */
  private static JsonNode statusAt(List<Sample> samples, long offsetNanos) {
    Sample best = null;
    for (Sample s : samples) {
      if (s.body() != null && (best == null
          || Math.abs(s.offsetNanos() - offsetNanos) < Math.abs(best.offsetNanos() - offsetNanos))) {
        best = s;
      }
    }
    return best == null || Math.abs(best.offsetNanos() - offsetNanos) > 3_000_000_000L ? null : best.body();
  }

  /** A non-streaming chat completion asking {@code model} for 8 tokens. */
  static String requestBody(String model) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    body.putArray("messages").addObject().put("role", "user").put("content", "hi");
    body.put("max_tokens", 8);
    return body.toString();
  }
}
