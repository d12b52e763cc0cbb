package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
 * Token benchmark driver (bench/tokens.sh): an open loop of non-streaming chat completions of seeded sizes
 * ({@link TokenMix}: prompts and {@code max_tokens} drawn uniformly), sent evenly spaced at the rate that offers
 * {@code --offered-tpm} tokens per minute on average, through Sluice to one simulated key. Every
 * {@code --sample-every} seconds, from the start until the last answer is in, it reads the sim's counters and
 * Sluice's view of its backend (in guard mode the admin API's quota entry when Sluice has it, else {@code /status});
 * once more after the drain.
 *
 * <ul>
 *   <li>{@code --mode pacing} (runs A and A2): per window, the tokens the provider accepted against its hidden TPM,
 *       and the upstream 429 share ({@link TokenReport});
 *   <li>{@code --mode guard} (run B): the quota guard tripping, probing and recovering, and no request beyond the
 *       probe rule ({@link GuardReport}), from the readings and Sluice's log ({@code --sluice-log}).
 * </ul>
 *
 * Writes the raw data (requests.csv, samples.jsonl, run.json) and the report (section.md, report.json);
 * {@code --report-only} rebuilds the report from the raw files. The exit code is 0 when the driver ran, whatever
 * the verdicts; 2 for a bad command line.
 *
 * <p>Bounded: exactly {@code rate × duration} requests, then at most {@code client-timeout + 15} s of waiting;
 * requests still open then are cancelled and count as unanswered. Thread-safety: one sender thread, one virtual
 * thread per request writing only its own slot, one sampler thread (read after it is joined).
 */
@Command(name = "TokenLoad", mixinStandardHelpOptions = true,
    description = "Chat completions of seeded token sizes through Sluice to a simulated key with token limits.")
public final class TokenLoad implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CSV_HEADER = "index,send_ms,send_lag_ms,prompt_tokens,max_tokens,status,code,"
      + "latency_ms,queue_ms,failure,usage_total,request_id";

  /** What the run is for. */
  enum Mode { PACING, GUARD }

  /** One request's record; written by its own virtual thread only, read after the run. */
  private static final class Rec {
    long offsetNanos;
    long sentLagNanos;
    int status;
    String code = "";
    long latencyNanos = -1;
    double queueMillis = -1;
    String failure = "";
    long usageTokens = -1;
    String requestId = "";
  }

  @Spec
  CommandSpec spec;

  @Option(names = "--scenario", defaultValue = "run", description = "Name of the run in the report.")
  String scenario;

  @Option(names = "--mode", required = true, paramLabel = "pacing|guard", description = "What the run measures.")
  Mode mode;

  @Option(names = "--target", required = true, paramLabel = "URL", description = "Chat completions URL to load.")
  URI target;

  @Option(names = "--sim", required = true, paramLabel = "URL",
      description = "The simulated key's base URL (without /v1), e.g. http://127.0.0.1:9350.")
  String simBase;

  @Option(names = "--status", paramLabel = "URL", description = "Sluice's /status URL, read with the sim.")
  URI statusUri;

  @Option(names = "--quota", paramLabel = "URL",
      description = "Guard mode: Sluice's GET /api/admin/quota/{id} of the backend, read instead of --status when "
          + "it answers.")
  URI quotaUri;

  @Option(names = "--offered-tpm", required = true, paramLabel = "TOKENS",
      description = "Tokens per minute offered on average (prompt + max_tokens), 1..100000000; sets the rate.")
  long offeredTpm;

  @Option(names = "--duration", required = true, paramLabel = "S", description = "Seconds of sending, 1..3600.")
  int duration;

  @Option(names = "--window", defaultValue = "60", paramLabel = "S",
      description = "Pacing mode: seconds per report window, 1..duration; default ${DEFAULT-VALUE}.")
  int window;

  @Option(names = "--sample-every", defaultValue = "5", paramLabel = "S",
      description = "Seconds between readings of the sim and Sluice, 0.1..60 (pacing: must divide --window); "
          + "default ${DEFAULT-VALUE}.")
  double sampleEvery;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the sizes; default ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--model", defaultValue = "meta/llama-3.3-70b-instruct", paramLabel = "ID",
      description = "The model of every request; default ${DEFAULT-VALUE}.")
  String model;

  @Option(names = "--prompt-min", defaultValue = "100", paramLabel = "TOKENS",
      description = "Smallest prompt, 1..1000000; default ${DEFAULT-VALUE}.")
  int promptMin;

  @Option(names = "--prompt-max", defaultValue = "4000", paramLabel = "TOKENS",
      description = "Largest prompt, prompt-min..1000000; default ${DEFAULT-VALUE}.")
  int promptMax;

  @Option(names = "--max-tokens-min", defaultValue = "50", paramLabel = "TOKENS",
      description = "Smallest max_tokens, 1..100000; default ${DEFAULT-VALUE}.")
  int maxTokensMin;

  @Option(names = "--max-tokens-max", defaultValue = "500", paramLabel = "TOKENS",
      description = "Largest max_tokens, max-tokens-min..100000; default ${DEFAULT-VALUE}.")
  int maxTokensMax;

  @Option(names = "--hidden-tpm", defaultValue = "40000", paramLabel = "TOKENS",
      description = "Pacing mode: the sim's hidden tokens-per-minute limit, 1..100000000; default ${DEFAULT-VALUE}.")
  long hiddenTpm;

  @Option(names = "--warmup-windows", defaultValue = "1", paramLabel = "N",
      description = "Pacing mode: leading windows reported but not judged, 0..duration/window; default "
          + "${DEFAULT-VALUE}.")
  int warmupWindows;

  @Option(names = "--target-goodput-pct", defaultValue = "90", paramLabel = "PCT",
      description = "Pacing mode, per judged window: goodput >= PCT % of the hidden TPM, 0..100; -1: not judged; "
          + "default ${DEFAULT-VALUE}.")
  double targetGoodputPct;

  @Option(names = "--target-429-pct", defaultValue = "2", paramLabel = "PCT",
      description = "Pacing mode, over the whole run: upstream 429 share <= PCT %, 0..100; -1: not judged; default "
          + "${DEFAULT-VALUE}.")
  double target429Pct;

  @Option(names = "--budget", defaultValue = "0", paramLabel = "TOKENS",
      description = "Guard mode: the token budget of the sim and of Sluice's quota, 1..10^12.")
  long budget;

  @Option(names = "--budget-window", defaultValue = "600", paramLabel = "S",
      description = "Guard mode: the budget's window in seconds (the sim's and Sluice's), 1..604800; default "
          + "${DEFAULT-VALUE}.")
  int budgetWindow;

  @Option(names = "--threshold-pct", defaultValue = "99", paramLabel = "PCT",
      description = "Guard mode: Sluice's threshold_percent, 1..100; default ${DEFAULT-VALUE}.")
  int thresholdPct;

  @Option(names = "--probe-interval", defaultValue = "30", paramLabel = "S",
      description = "Guard mode: Sluice's probe_interval_seconds, 1..86400; default ${DEFAULT-VALUE}.")
  int probeInterval;

  @Option(names = "--client-timeout", defaultValue = "120", paramLabel = "S",
      description = "Per-request timeout, 1..600; default ${DEFAULT-VALUE}.")
  int clientTimeout;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory for raw data and report.")
  Path out;

  @Option(names = "--sluice-log", paramLabel = "FILE",
      description = "Guard mode: Sluice's log (JSON lines), for the instants and causes of the guard's changes; "
          + "without it they are taken from the readings.")
  Path sluiceLog;

  @Option(names = "--report-only", arity = "0..1", paramLabel = "true|false",
      description = "Rebuild the report from the raw files already in --out, sending nothing.")
  boolean reportOnly;

  public static void main(String[] argv) {
    System.exit(commandLine().execute(argv));
  }

  /** The command line as {@link #main} runs it. */
  static CommandLine commandLine() {
    return new CommandLine(new TokenLoad()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public Integer call() throws Exception {
    validate();
    Files.createDirectories(out);
    if (reportOnly) {
      reportOnly();
      return 0;
    }
    double rate = rate();
    Schedule schedule = Schedule.of(rate, duration, seed, /* poisson= */ false, /* allNormal= */ true);
    int count = schedule.count();
    TokenMix mix = TokenMix.of(count, seed, promptMin, promptMax, maxTokensMin, maxTokensMax);
    Rec[] recs = new Rec[count];
    long[] offsets = new long[count];
    for (int i = 0; i < count; i++) {
      recs[i] = new Rec();
      recs[i].offsetNanos = offsets[i] = schedule.offsetNanos(i);
    }
    Control control = new Control(Duration.ofSeconds(2));
    URI simStats = URI.create(simBase + "/sim/stats");
    control.get(simStats); // the sim must be there before anything is sent
    URI sluiceUri = statusUri;
    String sluiceSource = statusUri == null ? "none" : "status";
    if (mode == Mode.GUARD && quotaUri != null && control.getOrNull(quotaUri) != null) {
      sluiceUri = quotaUri;
      sluiceSource = "admin";
    }
    URI readSluice = sluiceUri;

    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
    long startWallMillis = System.currentTimeMillis() + 300;
    long end = start + duration * 1_000_000_000L;
    long periodNanos = Math.round(sampleEvery * 1e9);
    AtomicBoolean drained = new AtomicBoolean();
    Sampler sampler = new Sampler("sampler", start, periodNanos, end,
        (long) ((duration + clientTimeout + 20L) / sampleEvery) + 2, drained,
        () -> reading(control, simStats, readSluice));

    List<Sample> samples;
    try (OpenSender sender = new OpenSender(Duration.ofSeconds(10))) {
      sender.send(start, offsets, i -> HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(clientTimeout))
          .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(mix.body(i, model)))
          .build(), (i, reply) -> {
            Rec r = recs[i];
            r.sentLagNanos = reply.sendLagNanos();
            r.failure = reply.failure();
            if (reply.answered()) {
              r.status = reply.status();
              r.latencyNanos = reply.latencyNanos();
              String queue = reply.header("X-Sluice-Queue-Ms");
              r.queueMillis = queue.isEmpty() ? -1 : Double.parseDouble(queue);
              r.requestId = reply.header("X-Sluice-Request-Id");
              if (r.status >= 200 && r.status < 300) {
                r.usageTokens = usageTokens(reply.body());
              } else {
                r.code = reply.errorCode();
              }
            }
          }, clientTimeout + 15L);
      drained.set(true);
      samples = sampler.join(TimeUnit.SECONDS.toMillis(30) + periodNanos / 1_000_000);
    }
    long drainSeconds = (System.nanoTime() - end) / 1_000_000_000L;
    Sample afterDrain = new Sample(System.nanoTime() - start, reading(control, simStats, readSluice), true);

    // ---- raw data ----
    StringBuilder csv = new StringBuilder(CSV_HEADER).append('\n');
    List<TokenCall> calls = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Rec r = recs[i];
      csv.append(i).append(',').append(fmt3(r.offsetNanos / 1e6)).append(',').append(fmt3(r.sentLagNanos / 1e6))
          .append(',').append(mix.promptTokens(i)).append(',').append(mix.maxTokens(i)).append(',').append(r.status)
          .append(',').append(r.code).append(',').append(r.latencyNanos < 0 ? "" : fmt3(r.latencyNanos / 1e6))
          .append(',').append(r.queueMillis < 0 ? "" : fmt3(r.queueMillis)).append(',').append(r.failure)
          .append(',').append(r.usageTokens < 0 ? "" : Long.toString(r.usageTokens)).append(',').append(r.requestId)
          .append('\n');
      calls.add(new TokenCall(r.offsetNanos, r.sentLagNanos, mix.promptTokens(i), mix.maxTokens(i), r.status, r.code,
          r.latencyNanos, r.queueMillis, r.failure, r.usageTokens));
    }
    Files.writeString(out.resolve("requests.csv"), csv);
    List<Sample> lines = new ArrayList<>(samples);
    lines.add(afterDrain);
    Sample.write(out.resolve("samples.jsonl"), lines);
    ObjectNode run = JSON.createObjectNode();
    run.put("start_wall_ms", startWallMillis);
    run.put("count", count);
    run.put("rate", rate);
    run.put("drain_s", drainSeconds);
    run.put("sluice_source", sluiceSource);
    Files.writeString(out.resolve("run.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(run));
    report(calls, samples, afterDrain, startWallMillis, sluiceSource);
    return 0;
  }

  private void validate() {
    Ranges.require(spec, "--offered-tpm", offeredTpm, 1, 100_000_000);
    Ranges.require(spec, "--duration", duration, 1, 3_600);
    Ranges.require(spec, "--window", window, 1, duration);
    Ranges.require(spec, "--sample-every", sampleEvery, 0.1, 60);
    Ranges.require(spec, "--prompt-min", promptMin, 1, 1_000_000);
    Ranges.require(spec, "--prompt-max", promptMax, promptMin, 1_000_000);
    Ranges.require(spec, "--max-tokens-min", maxTokensMin, 1, 100_000);
    Ranges.require(spec, "--max-tokens-max", maxTokensMax, maxTokensMin, 100_000);
    Ranges.require(spec, "--client-timeout", clientTimeout, 1, 600);
    if (model.isBlank()) {
      throw new ParameterException(spec.commandLine(), "--model must not be blank");
    }
    Ranges.require(spec, "--rate (from --offered-tpm and the mix, req/s)", rate(), 0.001, 1_000);
    if (mode == Mode.PACING) {
      Ranges.require(spec, "--hidden-tpm", hiddenTpm, 1, 100_000_000);
      Ranges.require(spec, "--warmup-windows", warmupWindows, 0, duration / window);
      Ranges.requireOrOff(spec, "--target-goodput-pct", targetGoodputPct, 0, 100);
      Ranges.requireOrOff(spec, "--target-429-pct", target429Pct, 0, 100);
      long periodMillis = Math.round(sampleEvery * 1000);
      if ((window * 1000L) % periodMillis != 0) {
        throw new ParameterException(spec.commandLine(), "--sample-every must divide --window, was "
            + Ranges.text(sampleEvery) + " for a window of " + window + " s");
      }
    } else {
      Ranges.require(spec, "--budget", budget, 1, 1e12);
      Ranges.require(spec, "--budget-window", budgetWindow, 1, 604_800);
      Ranges.require(spec, "--threshold-pct", thresholdPct, 1, 100);
      Ranges.require(spec, "--probe-interval", probeInterval, 1, 86_400);
    }
  }

  /** Requests per second that offer {@code --offered-tpm} on average with this mix. */
  private double rate() {
    return offeredTpm / 60.0 / TokenMix.meanTokens(promptMin, promptMax, maxTokensMin, maxTokensMax);
  }

  /** One reading: {@code {"sim": /sim/stats, "sluice": Sluice's answer}}, each null when it could not be read. */
  private static JsonNode reading(Control control, URI simStats, URI sluice) {
    ObjectNode reading = JSON.createObjectNode();
    reading.set("sim", control.getOrNull(simStats));
    reading.set("sluice", sluice == null ? null : control.getOrNull(sluice));
    return reading;
  }

  /** {@code usage.total_tokens} of a JSON answer; -1 when it has none. */
  static long usageTokens(byte[] body) {
    try {
      JsonNode total = JSON.readTree(body).path("usage").path("total_tokens");
      return total.canConvertToLong() ? total.asLong() : -1;
    } catch (IOException e) {
      return -1;
    }
  }

  /** Writes section.md and report.json and prints the report. */
  private void report(List<TokenCall> calls, List<Sample> samples, Sample afterDrain, long startWallMillis,
      String sluiceSource) throws IOException {
    double rate = rate();
    double mean = TokenMix.meanTokens(promptMin, promptMax, maxTokensMin, maxTokensMax);
    long offered = calls.stream().mapToLong(c -> (long) c.promptTokens() + c.maxTokens()).sum();
    String load = String.format(Locale.ROOT, "%d requests over %d s (%.4f req/s, evenly spaced, seed %d), model %s, "
        + "prompts of %d..%d tokens and max_tokens %d..%d, uniform (%,.0f tokens a request on average: %,d TPM "
        + "offered on average; this seed's requests add up to %,.0f TPM), to %s", calls.size(), duration, rate, seed,
        model, promptMin, promptMax, maxTokensMin, maxTokensMax, mean, offeredTpm, offered * 60.0 / duration, target);
    ObjectNode json;
    String markdown;
    if (mode == Mode.PACING) {
      TokenReport.Settings settings = new TokenReport.Settings(duration, window, hiddenTpm, warmupWindows,
          targetGoodputPct, target429Pct);
      String heading = String.format(Locale.ROOT, "### %s%n%n%s; offered %.2f × the hidden %,d TPM; readings every "
          + "%s s; windows of %d s.", scenario, load, (double) offeredTpm / hiddenTpm, hiddenTpm,
          Ranges.text(sampleEvery), window);
      TokenReport.Rendered rendered = TokenReport.render(settings, heading, calls, samples, afterDrain);
      json = rendered.json();
      markdown = rendered.markdown();
    } else {
      GuardReport.Settings settings = new GuardReport.Settings(duration, budget, thresholdPct, probeInterval,
          budgetWindow);
      List<GuardReport.Transition> transitions = sluiceLog == null ? List.of()
          : GuardReport.fromLog(Sample.nonBlankLines(sluiceLog), startWallMillis);
      String source = "Sluice's log";
      if (transitions.isEmpty()) {
        transitions = GuardReport.fromSamples(samples);
        source = "readings of Sluice's " + (sluiceSource.equals("admin") ? "admin API" : "/status") + " every "
            + Ranges.text(sampleEvery) + " s; its log had none";
      }
      long largest = (long) promptMax + maxTokensMax;
      String heading = String.format(Locale.ROOT, "### %s%n%n%s. Budget %,d tokens per %d s window in the sim and in "
          + "Sluice (%.0f × the largest request, %,d tokens), threshold %d %%, one probe every %d s; the sim's "
          + "counters and Sluice's %s read every %s s.", scenario, load, budget, budgetWindow,
          (double) budget / largest, largest, thresholdPct, probeInterval,
          sluiceSource.equals("admin") ? "admin API (GET /api/admin/quota/{id})" : "/status", Ranges.text(sampleEvery));
      GuardReport.Rendered rendered = GuardReport.render(settings, heading, calls, samples, afterDrain, transitions,
          source);
      json = rendered.json();
      markdown = rendered.markdown();
    }
    json.put("scenario", scenario);
    json.put("mode", mode.name().toLowerCase(Locale.ROOT));
    json.put("target", target.toString());
    json.put("offered", calls.size());
    json.put("offered_tpm", offeredTpm);
    json.put("rate", rate);
    json.put("duration_s", duration);
    json.put("seed", seed);
    json.put("model", model);
    json.put("sluice_source", sluiceSource);
    Files.writeString(out.resolve("report.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
    Files.writeString(out.resolve("section.md"), markdown);
    System.out.print(markdown);
    System.out.flush();
  }

  /** Rebuilds the report from a finished run's raw files in {@code out}. */
  private void reportOnly() throws IOException {
    List<String> lines = Files.readAllLines(out.resolve("requests.csv"));
    List<TokenCall> calls = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] f = line.split(",", -1);
      calls.add(new TokenCall((long) (Double.parseDouble(f[1]) * 1e6), (long) (Double.parseDouble(f[2]) * 1e6),
          Integer.parseInt(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]), f[6],
          f[7].isEmpty() ? -1 : (long) (Double.parseDouble(f[7]) * 1e6), f[8].isEmpty() ? -1 : Double.parseDouble(f[8]),
          f[9], f[10].isEmpty() ? -1 : Long.parseLong(f[10])));
    }
    List<Sample> samples = new ArrayList<>(Sample.read(out.resolve("samples.jsonl")));
    Sample afterDrain = !samples.isEmpty() && samples.getLast().afterDrain() ? samples.removeLast() : null;
    JsonNode run = Files.exists(out.resolve("run.json")) ? JSON.readTree(out.resolve("run.json").toFile())
        : JSON.createObjectNode();
    report(calls, samples, afterDrain, run.path("start_wall_ms").asLong(0), run.path("sluice_source").asText("none"));
  }

  private static String fmt3(double v) {
    return String.format(Locale.ROOT, "%.3f", v);
  }
}
