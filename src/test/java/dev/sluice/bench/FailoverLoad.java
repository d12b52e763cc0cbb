package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sluice.bench.FailoverReport.Answer;
import dev.sluice.bench.FailoverReport.KeyLoss;
import dev.sluice.bench.FailoverReport.Reading;
import dev.sluice.bench.FailoverReport.Settings;
import dev.sluice.bench.FailoverReport.StatusReading;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Failover benchmark driver (bench/failover.sh): the shaping benchmark's open loop of non-streaming chat completions
 * with seeded mixed priorities ({@link Schedule}), sent through one Sluice pool over several simulated keys, while
 * one key starts refusing connections ({@code POST /sim/config {"refuse_connections_seconds": 86400}} on its sim) and
 * later another starts answering 401 ({@code "rejected_keys": [its key]}). Every sim's counters are read at each
 * window boundary, right before each event and once more when the last answer is in; Sluice's {@code /status} every
 * few seconds. Writes the raw data (requests.csv, sim-stats.jsonl, status.jsonl, events.txt) and the report of
 * {@link FailoverReport} (section.md, windows.json); {@code --report-only} rebuilds the report from the raw files,
 * and with {@code --sluice-log} joins Sluice's request log by {@code X-Sluice-Request-Id}, so that a refusal of a
 * request whose attempt failed on a key counts against the keys.
 *
 * <p>Bounded: exactly {@code rate × duration} requests, then at most {@code client-timeout + 15} s of waiting;
 * requests still open then are cancelled and count as unanswered. Thread-safety: one sender thread, one virtual
 * thread per request writing only its own slot, a sim sampler, an event thread and a status sampler adding to
 * synchronized lists (read after they are joined).
 */
@Command(name = "FailoverLoad", mixinStandardHelpOptions = true,
    description = "Open-loop chat completions through a pool of simulated keys, two of which fail mid-run.")
public final class FailoverLoad implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CSV_HEADER =
      "index,send_ms,send_lag_ms,priority,status,code,latency_ms,queue_ms,answered,failure,request_id";
  /** How long the refusing key refuses connections: the sim's maximum, longer than any run. */
  private static final int REFUSE_SECONDS = 86_400;
  private static final String AFTER_DRAIN = "after the drain";

  /** One request's record; written by its own virtual thread only, read after the run. */
  private static final class Rec {
    long offsetNanos;
    long sentLagNanos;
    int priority;
    int status;
    String code = "";
    long latencyNanos = -1;
    double queueMillis = -1;
    boolean answered;
    String failure = "";
    String requestId = "";
  }

  @Spec
  CommandSpec spec;

  @Option(names = "--target", required = true, paramLabel = "URL", description = "Chat completions URL to load.")
  URI target;

  @Option(names = "--sims", required = true, split = ",", paramLabel = "URL",
      description = "The simulated keys' base URLs (without /v1), in the pool's order, comma-separated.")
  List<String> sims;

  @Option(names = "--status", paramLabel = "URL", description = "Sluice's /status URL, sampled during the run.")
  URI statusUri;

  @Option(names = "--rate", defaultValue = "2.5", paramLabel = "REQ/S",
      description = "Requests per second, 0.1..1000; default ${DEFAULT-VALUE} (150 RPM).")
  double rate;

  @Option(names = "--duration", defaultValue = "240", paramLabel = "S",
      description = "Seconds of sending, 1..3600; default ${DEFAULT-VALUE}.")
  int duration;

  @Option(names = "--window", defaultValue = "60", paramLabel = "S",
      description = "Seconds per report window, 1..duration; default ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the schedule; default ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--model", defaultValue = "meta/llama-3.3-70b-instruct", paramLabel = "ID",
      description = "The model of every request; default ${DEFAULT-VALUE}.")
  String model;

  @Option(names = "--key-rpm", defaultValue = "40", paramLabel = "RPM",
      description = "What each key allows, requests/minute, 1..100000: the allowance is this per live key; "
          + "default ${DEFAULT-VALUE}.")
  int keyRpm;

  @Option(names = "--refuse-at", defaultValue = "90", paramLabel = "S",
      description = "Second at which one key starts refusing connections, 0..duration; default ${DEFAULT-VALUE}.")
  int refuseAt;

  @Option(names = "--refuse-sim", defaultValue = "1", paramLabel = "N",
      description = "Which sim (1-based, in --sims order) refuses connections; default ${DEFAULT-VALUE}.")
  int refuseSim;

  @Option(names = "--reject-at", defaultValue = "150", paramLabel = "S",
      description = "Second at which another key starts answering 401, 0..duration; default ${DEFAULT-VALUE}.")
  int rejectAt;

  @Option(names = "--reject-sim", defaultValue = "2", paramLabel = "N",
      description = "Which sim (1-based) answers 401 to its key; default ${DEFAULT-VALUE}.")
  int rejectSim;

  @Option(names = "--reject-key-env", paramLabel = "VAR",
      description = "The environment variable holding the key that sim is told to reject (never printed).")
  String rejectKeyEnv;

  @Option(names = "--client-timeout", defaultValue = "120", paramLabel = "S",
      description = "Per-request timeout, 1..600; default ${DEFAULT-VALUE}.")
  int clientTimeout;

  @Option(names = "--status-every", defaultValue = "5", paramLabel = "S",
      description = "Seconds between /status samples, 1..600; default ${DEFAULT-VALUE}.")
  int statusEvery;

  @Option(names = "--target-goodput-pct", defaultValue = "95", paramLabel = "PCT",
      description = "Per window after the first: goodput >= PCT % of the allowance, 0..100; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double targetGoodputPct;

  @Option(names = "--target-429-pct", defaultValue = "2", paramLabel = "PCT",
      description = "Per window: upstream 429 share <= PCT %, 0..100; -1: not judged; default ${DEFAULT-VALUE}.")
  double target429Pct;

  @Option(names = "--target-urgent-p99-ms", defaultValue = "2000", paramLabel = "MS",
      description = "Per window: p99 of urgent queue waits (X-Sluice-Queue-Ms) <= MS, 0..600000; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double targetUrgentP99Millis;

  @Option(names = "--target-key-errors", defaultValue = "0", paramLabel = "N",
      description = "Per window: at most N client errors caused by the dead or refusing keys, 0..1000000; -1: not "
          + "judged; default ${DEFAULT-VALUE}.")
  int targetKeyErrors;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for raw data and report.")
  Path out;

  @Option(names = "--sluice-log", paramLabel = "FILE",
      description = "Sluice's log (JSON lines): a refused request that Sluice had retried after a failed attempt "
          + "(a reset, a refused connection, a 401, ...) counts as caused by the keys.")
  Path sluiceLog;

  @Option(names = "--report-only", arity = "0..1", paramLabel = "true|false",
      description = "Rebuild the report from the raw files already in --out, sending nothing.")
  boolean reportOnly;

  public static void main(String[] argv) {
    System.exit(commandLine().execute(argv));
  }

  /** The command line as {@link #main} runs it. */
  static CommandLine commandLine() {
    return new CommandLine(new FailoverLoad());
  }

  @Override
  public Integer call() throws Exception {
    Ranges.require(spec, "--rate", rate, 0.1, 1_000);
    Ranges.require(spec, "--duration", duration, 1, 3_600);
    Ranges.require(spec, "--window", window, 1, duration);
    Ranges.require(spec, "--key-rpm", keyRpm, 1, 100_000);
    Ranges.require(spec, "--refuse-at", refuseAt, 0, duration);
    Ranges.require(spec, "--reject-at", rejectAt, 0, duration);
    Ranges.require(spec, "--refuse-sim", refuseSim, 1, sims.size());
    Ranges.require(spec, "--reject-sim", rejectSim, 1, sims.size());
    Ranges.require(spec, "--client-timeout", clientTimeout, 1, 600);
    Ranges.require(spec, "--status-every", statusEvery, 1, 600);
    Ranges.requireOrOff(spec, "--target-goodput-pct", targetGoodputPct, 0, 100);
    Ranges.requireOrOff(spec, "--target-429-pct", target429Pct, 0, 100);
    Ranges.requireOrOff(spec, "--target-urgent-p99-ms", targetUrgentP99Millis, 0, 600_000);
    Ranges.requireOrOff(spec, "--target-key-errors", targetKeyErrors, 0, 1_000_000);
    if (refuseSim == rejectSim) {
      throw new ParameterException(spec.commandLine(), "--refuse-sim and --reject-sim must name different sims, "
          + "both were " + refuseSim);
    }
    Files.createDirectories(out);
    if (reportOnly) {
      reportOnly();
      return 0;
    }
    String rejectKey = rejectKeyEnv == null ? null : System.getenv(rejectKeyEnv);
    if (rejectKey == null || rejectKey.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--reject-key-env must name a set environment variable, was "
          + rejectKeyEnv);
    }

    Schedule schedule = Schedule.of(rate, duration, seed, /* poisson= */ false, /* allNormal= */ false);
    int count = schedule.count();
    Rec[] recs = new Rec[count];
    for (int i = 0; i < count; i++) {
      recs[i] = new Rec();
      recs[i].offsetNanos = schedule.offsetNanos(i);
      recs[i].priority = schedule.priority(i);
    }
    String body = ShapingLoad.requestBody(model);
    Control control = new Control(Duration.ofSeconds(2));

    List<JsonNode> baseline = readSims(control);
    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
    long end = start + duration * 1_000_000_000L;
    AtomicBoolean drained = new AtomicBoolean();
    List<Reading> readings = Collections.synchronizedList(new ArrayList<>());
    readings.add(new Reading(0, 0, "boundary 0", baseline));
    List<String> events = Collections.synchronizedList(new ArrayList<>());

    // ---- the sims' counters at exact window boundaries ----
    Thread simSampler = Thread.ofPlatform().name("sim-sampler").start(() -> {
      for (int k = 1; k <= duration / window; k++) {
        Sampler.parkUntil(start + k * (long) window * 1_000_000_000L);
        readings.add(new Reading(System.nanoTime() - start, k, "boundary " + k, readSims(control)));
      }
    });

    // ---- the two events, each after one more reading of every sim ----
    record Event(int atSeconds, int sim, String what, String body) {}
    List<Event> plan = new ArrayList<>(List.of(
        new Event(refuseAt, refuseSim, "refuses connections",
            "{\"refuse_connections_seconds\":" + REFUSE_SECONDS + "}"),
        new Event(rejectAt, rejectSim, "answers 401 to its key",
            JSON.createObjectNode().set("rejected_keys", JSON.createArrayNode().add(rejectKey)).toString())));
    plan.sort(Comparator.comparingInt(Event::atSeconds));
    Thread eventThread = Thread.ofPlatform().name("events").start(() -> {
      for (Event e : plan) {
        Sampler.parkUntil(start + e.atSeconds() * 1_000_000_000L);
        readings.add(new Reading(System.nanoTime() - start, -1, "before sim " + e.sim() + " " + e.what(),
            readSims(control)));
        String base = sims.get(e.sim() - 1);
        try {
          control.post(URI.create(base + "/sim/config"), e.body());
          events.add(String.format(Locale.ROOT, "t=%.3fs sim %d (%s) %s", (System.nanoTime() - start) / 1e9, e.sim(),
              base, e.what()));
        } catch (Exception x) {
          events.add(String.format(Locale.ROOT, "t=%.3fs sim %d (%s): telling it that it %s failed: %s",
              (System.nanoTime() - start) / 1e9, e.sim(), base, e.what(), x));
        }
      }
    });

    // ---- Sluice's /status every statusEvery seconds, until the end of the run and the drain ----
    Sampler statusSampler = statusUri == null ? null : new Sampler("status-sampler", start,
        statusEvery * 1_000_000_000L, end, (duration + clientTimeout + 20L) / statusEvery + 2, drained,
        () -> control.getOrNull(statusUri));

    // ---- the open loop ----
    long[] offsets = Arrays.stream(recs).mapToLong(r -> r.offsetNanos).toArray();
    List<StatusReading> status = new ArrayList<>();
    try (OpenSender sender = new OpenSender(Duration.ofSeconds(10))) {
      sender.send(start, offsets, i -> HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(clientTimeout))
          .header("Content-Type", "application/json").header("X-Priority", Schedule.PRIORITIES[recs[i].priority])
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), (i, reply) -> {
            Rec r = recs[i];
            r.sentLagNanos = reply.sendLagNanos();
            r.failure = reply.failure();
            if (reply.answered()) {
              r.latencyNanos = reply.latencyNanos();
              r.status = reply.status();
              r.answered = true;
              String queue = reply.header("X-Sluice-Queue-Ms");
              r.queueMillis = queue.isEmpty() ? -1 : Double.parseDouble(queue);
              r.requestId = reply.header("X-Sluice-Request-Id");
              if (r.status != 200) {
                r.code = reply.errorCode();
              }
            }
          }, clientTimeout + 15L);
      drained.set(true);
      simSampler.join(TimeUnit.SECONDS.toMillis(window + 30L));
      eventThread.join(TimeUnit.SECONDS.toMillis(30));
      if (statusSampler != null) {
        statusSampler.join(TimeUnit.SECONDS.toMillis(statusEvery + 30L))
            .forEach(x -> status.add(new StatusReading(x.offsetNanos(), x.body())));
      }
    }
    readings.add(new Reading(System.nanoTime() - start, -1, AFTER_DRAIN, readSims(control)));

    // ---- raw data ----
    StringBuilder csv = new StringBuilder(CSV_HEADER).append('\n');
    for (int i = 0; i < count; i++) {
      Rec r = recs[i];
      csv.append(i).append(',').append(fmt3(r.offsetNanos / 1e6)).append(',').append(fmt3(r.sentLagNanos / 1e6))
          .append(',').append(Schedule.PRIORITIES[r.priority]).append(',').append(r.status).append(',').append(r.code)
          .append(',').append(r.latencyNanos < 0 ? "" : fmt3(r.latencyNanos / 1e6)).append(',')
          .append(r.queueMillis < 0 ? "" : fmt3(r.queueMillis)).append(',').append(r.answered).append(',')
          .append(r.failure).append(',').append(r.requestId).append('\n');
    }
    Files.writeString(out.resolve("requests.csv"), csv);
    List<Reading> ordered = new ArrayList<>(readings);
    ordered.sort(Comparator.comparingLong(Reading::offsetNanos));
    writeReadings(out.resolve("sim-stats.jsonl"), ordered);
    Sample.write(out.resolve("status.jsonl"), status.stream().map(x -> new Sample(x.offsetNanos(), x.body())).toList());
    List<String> eventLines = new ArrayList<>(events);
    Files.writeString(out.resolve("events.txt"), eventLines.isEmpty() ? "" : String.join("\n", eventLines) + "\n");
    Map<String, String> retried = retriedById();
    List<Answer> answers = Arrays.stream(recs).map(r -> new Answer(r.offsetNanos, r.sentLagNanos, r.priority,
        r.status, r.code, r.latencyNanos, r.queueMillis, r.answered, r.failure,
        retried.getOrDefault(r.requestId, ""))).toList();
    report(answers, ordered, status, eventLines);
    return 0;
  }

  /** Writes section.md and windows.json and prints the report. */
  private void report(List<Answer> answers, List<Reading> readings, List<StatusReading> status, List<String> events)
      throws IOException {
    List<KeyLoss> losses = new ArrayList<>(List.of(
        new KeyLoss(refuseAt * 1_000_000_000L, "sim " + refuseSim + " refuses connections"),
        new KeyLoss(rejectAt * 1_000_000_000L, "sim " + rejectSim + " answers 401")));
    losses.sort(Comparator.comparingLong(KeyLoss::atNanos));
    Settings settings = new Settings(duration, window, sims.size(), keyRpm, losses, targetGoodputPct, target429Pct,
        targetUrgentP99Millis, targetKeyErrors);
    String heading = String.format(Locale.ROOT, "%d requests offered over %d s (%.2f req/s = %.0f RPM, evenly "
        + "spaced, seed %d, mixed priorities, model %s) to %s; %d keys of %d RPM each; sim %d refuses connections "
        + "from %d s, sim %d answers 401 from %d s; windows of %d s.", answers.size(), duration, rate, rate * 60, seed,
        model, target, sims.size(), keyRpm, refuseSim, refuseAt, rejectSim, rejectAt, window);
    FailoverReport.Rendered rendered = FailoverReport.render(settings, heading, events, answers, readings, status);
    ObjectNode json = rendered.json();
    json.put("target", target.toString());
    json.put("offered", answers.size());
    json.put("rate", rate);
    json.put("duration_s", duration);
    json.put("window_s", window);
    json.put("seed", seed);
    json.put("model", model);
    json.put("key_rpm", keyRpm);
    json.put("refuse_at_s", refuseAt);
    json.put("refuse_sim", refuseSim);
    json.put("reject_at_s", rejectAt);
    json.put("reject_sim", rejectSim);
    ObjectNode targets = json.putObject("targets");
    targets.put("goodput_pct", targetGoodputPct);
    targets.put("upstream_429_pct", target429Pct);
    targets.put("urgent_p99_ms", targetUrgentP99Millis);
    targets.put("key_errors", targetKeyErrors);
    Files.writeString(out.resolve("windows.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    Files.writeString(out.resolve("section.md"), rendered.markdown());
    System.out.print(rendered.markdown());
    System.out.flush();
  }

  /** Rebuilds the report from a finished run's raw files in {@code out}. */
  private void reportOnly() throws IOException {
    List<String> lines = Files.readAllLines(out.resolve("requests.csv"));
    List<String> priorities = List.of(Schedule.PRIORITIES);
    Map<String, String> retried = retriedById();
    List<Answer> answers = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      answers.add(new Answer((long) (Double.parseDouble(f[1]) * 1e6), (long) (Double.parseDouble(f[2]) * 1e6),
          priorities.indexOf(f[3]), Integer.parseInt(f[4]), f[5],
          f[6].isEmpty() ? -1 : (long) (Double.parseDouble(f[6]) * 1e6), f[7].isEmpty() ? -1 : Double.parseDouble(f[7]),
          Boolean.parseBoolean(f[8]), f[9], f.length > 10 ? retried.getOrDefault(f[10], "") : ""));
    }
    List<Reading> readings = new ArrayList<>();
    for (String l : Sample.nonBlankLines(out.resolve("sim-stats.jsonl"))) {
      JsonNode line = JSON.readTree(l);
      List<JsonNode> bodies = new ArrayList<>();
      line.path("sims").forEach(b -> bodies.add(b.isNull() ? null : b));
      readings.add(new Reading((long) (line.path("t_s").asDouble() * 1e9), line.path("boundary").asInt(-1),
          line.path("label").asText(), bodies));
    }
    List<StatusReading> status = Sample.read(out.resolve("status.jsonl")).stream()
        .map(x -> new StatusReading(x.offsetNanos(), x.body())).toList();
    report(answers, readings, status, Sample.nonBlankLines(out.resolve("events.txt")));
  }

  /**
   * What Sluice's request log ({@code --sluice-log}) says each retried request's failed attempts got, by request id
   * ({@code "retried":"reset"}); empty without the option.
   */
  private Map<String, String> retriedById() throws IOException {
    Map<String, String> retried = new HashMap<>();
    if (sluiceLog == null) {
      return retried;
    }
    for (String line : Sample.nonBlankLines(sluiceLog)) {
      if (!line.startsWith("{") || !line.contains("\"logger\":\"sluice.request\"")) {
        continue;
      }
      JsonNode entry = JSON.readTree(line);
      if (entry.hasNonNull("retried")) {
        retried.put(entry.path("request_id").asText(), entry.path("retried").asText());
      }
    }
    return retried;
  }

  /** Every sim's /sim/stats, null for one that does not answer (it refuses connections). */
  private List<JsonNode> readSims(Control control) {
    List<JsonNode> bodies = new ArrayList<>();
    for (String sim : sims) {
      bodies.add(control.getOrNull(URI.create(sim + "/sim/stats")));
    }
    return bodies;
  }

  private static void writeReadings(Path file, List<Reading> readings) throws IOException {
    StringBuilder text = new StringBuilder();
    for (Reading r : readings) {
      ObjectNode line = JSON.createObjectNode();
      line.put("t_s", Math.round(r.offsetNanos() / 1e6) / 1e3);
      line.put("boundary", r.boundary());
      line.put("label", r.label());
      ArrayNode bodies = line.putArray("sims");
      r.bodies().forEach(bodies::add);
      text.append(JSON.writeValueAsString(line)).append('\n');
    }
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  private static String fmt3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
