package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Turns the benchmark's results file (one JSON line per run, tagged {@code scenario}, {@code target},
 * {@code round}) into the summary: medians across rounds per scenario and target, latency added over the direct
 * path (computed per round, then the median), the Sluice/nginx and Sluice/direct ratios and the verdict against
 * each target. Prints Markdown on stdout and, with {@code --out}, writes it to that file as well.
 *
 * <p>The latency targets are on the latency a proxy <em>adds</em> over calling the provider directly: Sluice's
 * added p50 at most {@link #P50_TARGET} × nginx's added p50, its added p99 at most {@link #P99_TARGET} × nginx's
 * (where nginx's added figure comes out at or below zero, the ratio of the absolute figures decides instead).
 * The streaming targets are on the figures as the client sees them (time to first chunk, gaps between chunks,
 * share of bunched chunks), each at most {@link #STREAM_TARGET} × nginx's; a share of bunched chunks also passes
 * when it is within {@link #BUNCHED_FLOOR} (absolute) of nginx's, since one bunched chunk in ten thousand is noise.
 */
final class BenchReport {
  /** Sluice p50 may be at most this many times nginx's. */
  static final double P50_TARGET = 1.25;
  /** Sluice p99 may be at most this many times nginx's. */
  static final double P99_TARGET = 1.5;
  /** Sluice max throughput must be at least this share of nginx's. */
  static final double THROUGHPUT_TARGET = 0.8;
  /** Streaming figures may be at most this many times nginx's. */
  static final double STREAM_TARGET = 1.1;
  /** Absolute slack on the share of bunched chunks (0.1 percentage point). */
  static final double BUNCHED_FLOOR = 0.001;
  /** Peak resident memory of Sluice holding the soak's streams, in MB (MiB as ps reports them). */
  static final double SOAK_RSS_TARGET_MB = 400;

  private static final List<String> AUXILIARY_MODES = List.of("rss", "cpu", "meta", "load");
  private static final List<String> ORDER =
      List.of("direct", "nginx", "nginx-1w", "sluice", "sluice-nometrics", "sluice-pt", "sluice-info", "sluice-pt-info",
          "sluice-serial");
  /** Sluice with metrics (the default) and the same Sluice with them switched off. */
  private static final String METRICS_ON = "sluice";
  private static final String METRICS_OFF = "sluice-nometrics";
  /** What metrics may cost: this share of CPU per request. */
  static final double METRICS_CPU_TARGET = 0.03;
  /** The comparators: nginx as the benchmark runs it (a worker per processor), and with one worker. */
  private static final List<String> NGINX = List.of("nginx", "nginx-1w");

  private final List<JsonNode> lines;
  private final StringBuilder out = new StringBuilder();

  private BenchReport(List<JsonNode> lines) {
    this.lines = lines;
  }

  /** {@code report --results FILE [--out FILE]}: the summary of a results file. */
  @Command(name = "report", mixinStandardHelpOptions = true,
      description = "Turns a results file into the summary tables (Markdown on stdout).")
  static final class ReportCommand implements Callable<Integer> {
    @Option(names = "--results", required = true, paramLabel = "FILE", description = "results.jsonl of a run.")
    Path results;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the summary to this file.")
    Path outFile;

    @Override
    public Integer call() throws IOException {
      List<JsonNode> lines = new ArrayList<>();
      for (String line : Files.readAllLines(results)) {
        if (line.startsWith("{")) {
          lines.add(LoadGen.JSON.readTree(line));
        }
      }
      String report = new BenchReport(lines).render();
      System.out.print(report);
      if (outFile != null) {
        Files.writeString(outFile, report);
      }
      return 0;
    }
  }

  private String render() {
    lines.stream().filter(l -> "meta".equals(text(l, "mode"))).forEach(meta -> {
      out.append("Run: ");
      List<String> parts = new ArrayList<>();
      meta.properties().forEach(e -> {
        if (!e.getKey().equals("mode")) {
          parts.add(e.getKey() + "=" + e.getValue().asText());
        }
      });
      out.append(String.join(", ", parts)).append("\n\n");
    });
    double[] loads = lines.stream().filter(l -> "load".equals(text(l, "mode")))
        .mapToDouble(l -> l.path("loadavg1").asDouble()).sorted().toArray();
    if (loads.length > 0) {
      out.append("1-minute load average after each run (2 CPUs; the benchmark itself accounts for about 2–3): min ")
          .append(fmt(loads[0], 2)).append(", median ").append(fmt(loads[loads.length / 2], 2)).append(", max ")
          .append(fmt(loads[loads.length - 1], 2)).append("\n\n");
    }
    for (String scenario : scenarios("open")) {
      openLoop(scenario);
    }
    for (String scenario : scenarios("closed")) {
      closedLoop(scenario);
    }
    for (String scenario : scenarios("stream")) {
      if (!scenario.startsWith("soak")) {
        streaming(scenario);
      }
    }
    if (!select("soak", null).isEmpty()) {
      soak();
    }
    return out.toString();
  }

  private List<String> scenarios(String mode) {
    return lines.stream().filter(l -> mode.equals(text(l, "mode"))).map(l -> text(l, "scenario"))
        .filter(Objects::nonNull).distinct().toList();
  }

  private void openLoop(String scenario) {
    List<String> targets = targets(scenario);
    JsonNode any = select(scenario, null).getFirst();
    out.append("### Open loop ").append(fmt(any.path("target_rate").asDouble(), 0)).append(" req/s (")
        .append(scenario).append("), median of ").append(rounds(scenario)).append(" round(s), ms\n\n");
    out.append("| target | p50 | p90 | p99 | p99.9 | max | achieved req/s | errors (sum) | max send lag "
        + "| proxy CPU ms / 1k req |\n");
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (String target : targets) {
      out.append("| ").append(target);
      for (String key : List.of("p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms")) {
        out.append(" | ").append(fmt(median(scenario, target, key), 3));
      }
      out.append(" | ").append(fmt(median(scenario, target, "achieved_rate"), 0))
          .append(" | ").append(fmt(sum(scenario, target, "errors"), 0))
          .append(" | ").append(fmt(median(scenario, target, "max_send_lag_ms"), 1))
          .append(" | ").append(target.equals("direct") ? "–" : fmt(cpuPerThousand(scenario, target), 0))
          .append(" |\n");
    }
    if (targets.contains("direct")) {
      out.append("\nAdded over direct (target − direct, per round, then median), ms\n\n");
      out.append("| target | p50 | p90 | p99 | p99.9 |\n|---|---:|---:|---:|---:|\n");
      for (String target : targets) {
        if (target.equals("direct")) {
          continue;
        }
        out.append("| ").append(target);
        for (String key : List.of("p50_ms", "p90_ms", "p99_ms", "p999_ms")) {
          out.append(" | ").append(fmt(medianAdded(scenario, target, key), 3));
        }
        out.append(" |\n");
      }
    }
    List<String> bases = NGINX.stream().filter(targets::contains).toList();
    if (!bases.isEmpty()) {
      out.append("\n| ratio | p50 abs | p99 abs | p50 added | p99 added | target: added p50 ≤ ").append(P50_TARGET)
          .append("× nginx, added p99 ≤ ").append(P99_TARGET).append("× nginx |\n")
          .append("|---|---:|---:|---:|---:|---|\n");
      for (String base : bases) {
        for (String target : targets) {
          if (!target.startsWith("sluice")) {
            continue;
          }
          double p50 = ratio(median(scenario, target, "p50_ms"), median(scenario, base, "p50_ms"));
          double p99 = ratio(median(scenario, target, "p99_ms"), median(scenario, base, "p99_ms"));
          double p50Added = addedRatio(medianAdded(scenario, target, "p50_ms"), medianAdded(scenario, base, "p50_ms"));
          double p99Added = addedRatio(medianAdded(scenario, target, "p99_ms"), medianAdded(scenario, base, "p99_ms"));
          out.append("| ").append(target).append('/').append(base).append(" | ").append(fmt(p50, 2)).append(" | ")
              .append(fmt(p99, 2)).append(" | ").append(fmt(p50Added, 2)).append(" | ").append(fmt(p99Added, 2))
              .append(" | p50: ").append(verdict(p50Added, p50, P50_TARGET)).append("; p99: ")
              .append(verdict(p99Added, p99, P99_TARGET)).append(" |\n");
        }
      }
      if (targets.contains("direct")) {
        for (String target : targets) {
          if (!target.startsWith("sluice")) {
            continue;
          }
          out.append("| ").append(target).append("/direct | ")
              .append(fmt(ratio(median(scenario, target, "p50_ms"), median(scenario, "direct", "p50_ms")), 2))
              .append(" | ")
              .append(fmt(ratio(median(scenario, target, "p99_ms"), median(scenario, "direct", "p99_ms")), 2))
              .append(" | – | – | – |\n");
        }
      }
    }
    metricsCost(scenario);
    out.append('\n');
  }

  private void closedLoop(String scenario) {
    List<String> targets = targets(scenario);
    JsonNode any = select(scenario, null).getFirst();
    out.append("### Closed loop (").append(scenario).append("), max throughput (")
        .append(text(any, "tool") == null ? "loadgen" : text(any, "tool"))
        .append(", ").append(any.path("concurrency").asInt()).append(" connections), median of ")
        .append(rounds(scenario)).append(" round(s)\n\n");
    out.append("| target | req/s | p50 ms | p90 ms | p99 ms | errors (sum) | proxy CPU ms / 1k req |\n")
        .append("|---|---:|---:|---:|---:|---:|---:|\n");
    for (String target : targets) {
      out.append("| ").append(target).append(" | ").append(fmt(median(scenario, target, "throughput_rps"), 0));
      for (String key : List.of("p50_ms", "p90_ms", "p99_ms")) {
        out.append(" | ").append(fmt(median(scenario, target, key), 3));
      }
      out.append(" | ").append(fmt(sum(scenario, target, "errors"), 0))
          .append(" | ").append(target.equals("direct") ? "–" : fmt(cpuPerThousand(scenario, target), 0))
          .append(" |\n");
    }
    for (String base : NGINX.stream().filter(targets::contains).toList()) {
      for (String target : targets) {
        if (!target.startsWith("sluice")) {
          continue;
        }
        double r = ratio(median(scenario, target, "throughput_rps"), median(scenario, base, "throughput_rps"));
        out.append("\nThroughput ").append(target).append('/').append(base).append(" = ").append(fmt(r, 2))
            .append(" (target ≥ ").append(THROUGHPUT_TARGET).append("): ").append(verdict(r >= THROUGHPUT_TARGET));
        if (targets.contains("direct")) {
          out.append("; ").append(target).append("/direct = ").append(fmt(
              ratio(median(scenario, target, "throughput_rps"), median(scenario, "direct", "throughput_rps")), 2));
        }
        out.append('\n');
      }
    }
    metricsCost(scenario);
    out.append('\n');
  }

  /**
   * Sluice with metrics against the same Sluice without, when both ran: throughput, CPU per request and p50 added
   * over direct, each as on/off (the p50 also as the per-round difference, whose spread is the noise).
   */
  private void metricsCost(String scenario) {
    List<String> targets = targets(scenario);
    if (!targets.contains(METRICS_ON) || !targets.contains(METRICS_OFF)) {
      return;
    }
    double cpu = ratio(cpuPerThousand(scenario, METRICS_ON), cpuPerThousand(scenario, METRICS_OFF));
    out.append("\nMetrics on/off (").append(METRICS_ON).append('/').append(METRICS_OFF).append("): CPU per request ")
        .append(fmt(cpu, 3)).append(" (target ≤ ").append(fmt(1 + METRICS_CPU_TARGET, 2)).append("): ")
        .append(verdict(cpu <= 1 + METRICS_CPU_TARGET));
    double throughput = ratio(median(scenario, METRICS_ON, "throughput_rps"), median(scenario, METRICS_OFF,
        "throughput_rps"));
    if (!Double.isNaN(throughput)) {
      out.append("; throughput ").append(fmt(throughput, 3));
    }
    List<Double> differences = new ArrayList<>();
    Map<String, Double> off = new LinkedHashMap<>();
    select(scenario, METRICS_OFF).forEach(l -> off.put(text(l, "round"), l.path("p50_ms").asDouble()));
    for (JsonNode l : select(scenario, METRICS_ON)) {
      Double base = off.get(text(l, "round"));
      if (base != null) {
        differences.add(l.path("p50_ms").asDouble() - base);
      }
    }
    differences.sort(Double::compare);
    out.append("; p50 ").append(fmt(median(scenario, METRICS_ON, "p50_ms"), 3)).append(" vs ")
        .append(fmt(median(scenario, METRICS_OFF, "p50_ms"), 3)).append(" ms, on − off per round ")
        .append(differences.stream().map(d -> fmt(d, 3)).toList()).append(" ms\n");
  }

  private void streaming(String scenario) {
    List<String> targets = targets(scenario);
    JsonNode any = select(scenario, null).getFirst();
    out.append("### Streaming (").append(scenario).append("), ").append(any.path("streams").asInt())
        .append(" concurrent SSE streams over ").append(fmt(any.path("ramp_s").asDouble(), 0)).append(" s, ")
        .append(fmt(any.path("per_token_ms").asDouble(), 0)).append(" ms/token, median of ")
        .append(rounds(scenario)).append(" round(s), ms\n\n");
    out.append("| target | TTFC p50 | TTFC p99 | gap p50 | gap p99 | gap max | bunched share | complete | incomplete |\n")
        .append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (String target : targets) {
      out.append("| ").append(target);
      for (String key : List.of("ttfc_p50_ms", "ttfc_p99_ms", "gap_p50_ms", "gap_p99_ms", "gap_max_ms")) {
        out.append(" | ").append(fmt(median(scenario, target, key), 3));
      }
      out.append(" | ").append(fmt(median(scenario, target, "bunched_share"), 4))
          .append(" | ").append(fmt(sum(scenario, target, "complete"), 0))
          .append(" | ").append(fmt(sum(scenario, target, "incomplete"), 0)).append(" |\n");
    }
    String[] keys = {"ttfc_p50_ms", "ttfc_p99_ms", "gap_p50_ms", "gap_p99_ms", "bunched_share"};
    String[] names = {"TTFC p50", "TTFC p99", "gap p50", "gap p99", "bunched share"};
    if (NGINX.stream().anyMatch(targets::contains)) {
      out.append("\n| ratio | TTFC p50 | TTFC p99 | gap p50 | gap p99 | bunched share | target: each ≤ ")
          .append(STREAM_TARGET).append("× nginx |\n|---|---:|---:|---:|---:|---:|---|\n");
      for (String base : List.of("nginx", "nginx-1w", "direct")) {
        if (!targets.contains(base)) {
          continue;
        }
        for (String target : targets) {
          if (!target.startsWith("sluice")) {
            continue;
          }
          out.append("| ").append(target).append('/').append(base);
          List<String> missed = new ArrayList<>();
          for (int i = 0; i < keys.length; i++) {
            double mine = median(scenario, target, keys[i]);
            double theirs = median(scenario, base, keys[i]);
            out.append(" | ").append(fmt(ratio(mine, theirs), 2));
            boolean met = mine <= STREAM_TARGET * theirs
                || (keys[i].equals("bunched_share") && mine <= theirs + BUNCHED_FLOOR);
            if (!met) {
              missed.add(names[i]);
            }
          }
          out.append(" | ").append(!NGINX.contains(base) ? "–"
              : missed.isEmpty() ? "MET" : "MISSED: " + String.join(", ", missed)).append(" |\n");
        }
      }
    }
    out.append('\n');
  }

  private void soak() {
    out.append("### Soak: concurrent streams through Sluice\n\n");
    out.append("| streams | complete | incomplete | content events / expected | peak open | TTFC p99 ms | gap p99 ms "
        + "| bunched share | Sluice RSS before MiB | Sluice peak RSS MiB |\n");
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    JsonNode rss = lines.stream().filter(l -> "soak".equals(text(l, "scenario")) && "rss".equals(text(l, "mode")))
        .findFirst().orElse(null);
    for (JsonNode l : select("soak", null)) {
      if (!"stream".equals(text(l, "mode"))) {
        continue;
      }
      out.append("| ").append(l.path("streams").asInt()).append(" | ").append(l.path("complete").asLong())
          .append(" | ").append(l.path("incomplete").asLong()).append(" | ").append(l.path("content_events").asLong())
          .append(" / ").append(l.path("expected_content_events").asLong()).append(" | ")
          .append(l.path("peak_open_streams").asInt()).append(" | ").append(fmt(l.path("ttfc_p99_ms").asDouble(), 1))
          .append(" | ").append(fmt(l.path("gap_p99_ms").asDouble(), 1)).append(" | ")
          .append(fmt(l.path("bunched_share").asDouble(), 4)).append(" | ")
          .append(rss == null ? "n/a" : fmt(rss.path("baseline_rss_mb").asDouble(), 0)).append(" | ")
          .append(rss == null ? "n/a" : fmt(rss.path("peak_rss_mb").asDouble(), 0)).append(" |\n");
      if (!l.path("problems").isEmpty()) {
        out.append("\nProblems: ").append(l.path("problems")).append('\n');
      }
      boolean allComplete = l.path("incomplete").asLong() == 0
          && l.path("content_events").asLong() == l.path("expected_content_events").asLong();
      double sluiceCpu = soakCpuSeconds("sluice");
      double simCpu = soakCpuSeconds("sim");
      if (!Double.isNaN(sluiceCpu)) {
        out.append("\nCPU during the soak: Sluice ").append(fmt(sluiceCpu, 1)).append(" s, simulated provider ")
            .append(fmt(simCpu, 1)).append(" s, over ").append(fmt(l.path("elapsed_s").asDouble(), 1))
            .append(" s of wall time\n");
      }
      out.append("\nAll streams complete with every chunk: ").append(verdict(allComplete));
      if (rss != null) {
        out.append("; peak RSS ≤ ").append(fmt(SOAK_RSS_TARGET_MB, 0)).append(" MiB: ")
            .append(verdict(rss.path("peak_rss_mb").asDouble() <= SOAK_RSS_TARGET_MB));
      }
      out.append("\n\n");
    }
  }

  private double soakCpuSeconds(String target) {
    return lines.stream().filter(l -> "cpu".equals(text(l, "mode")) && "soak".equals(text(l, "scenario"))
        && target.equals(text(l, "target"))).mapToDouble(l -> l.path("cpu_ms").asDouble() / 1000).findFirst()
        .orElse(Double.NaN);
  }

  private List<JsonNode> select(String scenario, String target) {
    return lines.stream()
        .filter(l -> scenario.equals(text(l, "scenario")))
        .filter(l -> target == null || target.equals(text(l, "target")))
        .filter(l -> !AUXILIARY_MODES.contains(text(l, "mode")))
        .toList();
  }

  /** Median over rounds of the proxy's CPU time per 1,000 requests sent (the {@code cpu} lines of run.sh). */
  private double cpuPerThousand(String scenario, String target) {
    List<Double> perThousand = new ArrayList<>();
    for (JsonNode cpu : lines) {
      if (!"cpu".equals(text(cpu, "mode")) || !scenario.equals(text(cpu, "scenario"))
          || !target.equals(text(cpu, "target"))) {
        continue;
      }
      double requests = cpu.path("requests").asDouble();
      if (requests > 0) {
        perThousand.add(cpu.path("cpu_ms").asDouble() / (requests / 1000));
      }
    }
    return median(perThousand, Double::doubleValue);
  }

  private List<String> targets(String scenario) {
    List<String> found = select(scenario, null).stream().map(l -> text(l, "target")).filter(Objects::nonNull)
        .distinct().toList();
    List<String> ordered = new ArrayList<>(ORDER.stream().filter(found::contains).toList());
    found.stream().filter(t -> !ordered.contains(t)).forEach(ordered::add);
    return ordered;
  }

  private long rounds(String scenario) {
    return select(scenario, null).stream().map(l -> text(l, "round")).distinct().count();
  }

  private double median(String scenario, String target, String key) {
    return median(select(scenario, target), l -> l.path(key).asDouble(Double.NaN));
  }

  private double sum(String scenario, String target, String key) {
    return select(scenario, target).stream().mapToDouble(l -> l.path(key).asDouble()).sum();
  }

  /** Median over rounds of (target − direct) in the same round. */
  private double medianAdded(String scenario, String target, String key) {
    Map<String, Double> direct = new LinkedHashMap<>();
    select(scenario, "direct").forEach(l -> direct.put(text(l, "round"), l.path(key).asDouble()));
    List<Double> added = new ArrayList<>();
    for (JsonNode l : select(scenario, target)) {
      Double base = direct.get(text(l, "round"));
      if (base != null) {
        added.add(l.path(key).asDouble() - base);
      }
    }
    return median(added, Double::doubleValue);
  }

  private static <T> double median(List<T> items, ToDoubleFunction<T> value) {
    double[] values = items.stream().mapToDouble(value).filter(v -> !Double.isNaN(v)).sorted().toArray();
    if (values.length == 0) {
      return Double.NaN;
    }
    int mid = values.length / 2;
    return values.length % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  }

  private static double ratio(double a, double b) {
    return b == 0 || Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : a / b;
  }

  private static String verdict(boolean met) {
    return met ? "MET" : "MISSED";
  }

  /**
   * The verdict on an added-latency ratio; when nginx added nothing measurable (that ratio is NaN), on the
   * absolute ratio instead, marked "(abs)".
   */
  private static String verdict(double addedRatio, double absoluteRatio, double target) {
    if (Double.isNaN(addedRatio)) {
      return Double.isNaN(absoluteRatio) ? "n/a" : verdict(absoluteRatio <= target) + " (abs)";
    }
    return verdict(addedRatio <= target);
  }

  /**
   * Sluice's added latency over nginx's. NaN when nginx's added latency is not positive (the difference of two
   * noisy percentiles can come out at or below zero), since the ratio then says nothing.
   */
  private static double addedRatio(double mine, double nginx) {
    return Double.isNaN(mine) || Double.isNaN(nginx) || nginx <= 0 ? Double.NaN : mine / nginx;
  }

  private static String text(JsonNode node, String key) {
    JsonNode v = node.get(key);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String fmt(double value, int decimals) {
    if (Double.isNaN(value)) {
      return "n/a";
    }
    return String.format(Locale.ROOT, "%." + decimals + "f", value);
  }
}
