package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The bench tools' options as bench/run.sh, bench/shaping.sh and bench/failover.sh pass them: parsed into the fields
 * the runs read, and refused (exit code 2, a message naming the option, nothing sent) when unknown, malformed or out of range.
 * Every refused run points at port 1 of 127.0.0.1, so a run that wrongly went ahead would fail to connect.
 */
class LoadGenCommandLineTest {
  private static final String URL = "http://127.0.0.1:1/v1/chat/completions";

  private record Run(int exitCode, String stderr) {
    String firstLine() {
      return stderr.lines().findFirst().orElse("");
    }
  }

  private static Run run(CommandLine commandLine, String... args) {
    StringWriter err = new StringWriter();
    commandLine.setErr(new PrintWriter(err, true));
    commandLine.setOut(new PrintWriter(new StringWriter(), true));
    int exitCode = commandLine.execute(args);
    return new Run(exitCode, err.toString());
  }

  private static Run loadGen(String... args) {
    return run(LoadGen.commandLine(), args);
  }

  @Test
  void open_everyOption_reachesTheRun() {
    CommandLine commandLine = LoadGen.commandLine();
    commandLine.parseArgs("open", "--url", URL, "--rate", "2000", "--duration", "10", "--warmup", "3",
        "--timeout", "5", "--max-connections", "512", "--round-robin", "--body", "{\"model\":\"m\"}",
        "--tag", "scenario=open2000", "--tag", "target=sluice", "--tag", "round=1");

    OpenLoop open = commandLine.getSubcommands().get("open").getCommand();
    assertThat(open.target.url).isEqualTo(URI.create(URL));
    assertThat(open.rate).isEqualTo(2000.0);
    assertThat(open.length.durationSeconds).isEqualTo(10.0);
    assertThat(open.length.warmupSeconds).isEqualTo(3.0);
    assertThat(open.length.timeoutSeconds).isEqualTo(5);
    assertThat(open.maxConnections).isEqualTo(512);
    assertThat(open.roundRobin).isTrue();
    assertThat(open.target.body).isEqualTo("{\"model\":\"m\"}");
    assertThat(open.target.tags).containsExactly(
        Map.entry("scenario", "open2000"), Map.entry("target", "sluice"), Map.entry("round", "1"));
  }

  @Test
  void open_defaults_areTheDocumentedOnes() {
    CommandLine commandLine = LoadGen.commandLine();
    commandLine.parseArgs("open", "--url", URL, "--rate", "500", "--duration", "10");

    OpenLoop open = commandLine.getSubcommands().get("open").getCommand();
    assertThat(open.length.warmupSeconds).isEqualTo(2.0);
    assertThat(open.length.timeoutSeconds).isEqualTo(10);
    assertThat(open.maxConnections).isEqualTo(64);
    assertThat(open.roundRobin).isFalse();
    assertThat(open.target.tags).isEmpty();
  }

  @Test
  void open_misspelledOption_isRefusedWithTheNearestName() {
    Run run = loadGen("open", "--url", URL, "--rate", "500", "--duration", "10", "--max-conections", "512");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).startsWith("Unknown options: '--max-conections', '512'\n"
        + "Possible solutions: --max-connections\n");
  }

  @Test
  void open_rateThatIsNotANumber_isRefused() {
    Run run = loadGen("open", "--url", URL, "--rate", "fast", "--duration", "10");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("Invalid value for option '--rate': 'fast' is not a double");
  }

  @Test
  void open_rateOutsideItsRange_isRefusedNamingTheRange() {
    Run run = loadGen("open", "--url", URL, "--rate", "0", "--duration", "10");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--rate must be in 1..50000, was 0");
  }

  @Test
  void open_fractionalWarmupOutsideItsRange_isRefusedWithTheFraction() {
    Run run = loadGen("open", "--url", URL, "--rate", "500", "--duration", "10", "--warmup", "-0.5");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--warmup must be in 0..600, was -0.5");
  }

  @Test
  void open_withoutRate_isRefused() {
    Run run = loadGen("open", "--url", URL, "--duration", "10");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("Missing required option: '--rate=REQ/S'");
  }

  @Test
  void closed_concurrencyOutsideItsRange_isRefused() {
    Run run = loadGen("closed", "--url", URL, "--concurrency", "20000", "--duration", "10");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--concurrency must be in 1..10000, was 20000");
  }

  @Test
  void stream_tagWithoutValue_isRefused() {
    Run run = loadGen("stream", "--url", URL, "--streams", "10", "--duration-limit", "5", "--tag", "round");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine())
        .isEqualTo("Value for option option '--tag' (KEY=VALUE) should be in KEY=VALUE format but was round");
  }

  @Test
  void stream_everyOption_reachesTheRun() {
    CommandLine commandLine = LoadGen.commandLine();
    commandLine.parseArgs("stream", "--url", URL, "--streams", "200", "--duration-limit", "31", "--ramp", "1",
        "--warmup-streams", "200", "--per-token-ms", "20", "--expect-content", "50");

    StreamLoad stream = commandLine.getSubcommands().get("stream").getCommand();
    assertThat(stream.streams).isEqualTo(200);
    assertThat(stream.limitSeconds).isEqualTo(31.0);
    assertThat(stream.rampSeconds).isEqualTo(1.0);
    assertThat(stream.warmupStreams).isEqualTo(200);
    assertThat(stream.perTokenMillis).isEqualTo(20.0);
    assertThat(stream.expectContent).isEqualTo(50);
  }

  @Test
  void noMode_isRefused() {
    Run run = loadGen();

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("Missing required subcommand");
  }

  @Test
  void misspelledMode_isRefusedWithTheNearestMode() {
    Run run = loadGen("opn", "--url", URL);

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).startsWith("Unmatched arguments from index 0: 'opn', '--url', '" + URL + "'\n"
        + "Did you mean: LoadGen open?\n");
  }

  @Test
  void report_writesTheSummaryOfAResultsFile(@TempDir Path dir) throws Exception {
    Path results = dir.resolve("results.jsonl");
    Files.writeString(results, """
        {"scenario":"closed","target":"nginx","round":"1","mode":"closed","tool":"wrk","concurrency":64,\
        "ok":1000,"errors":0,"throughput_rps":20000.0,"p50_ms":1.0,"p90_ms":2.0,"p99_ms":3.0}
        {"scenario":"closed","target":"sluice","round":"1","mode":"closed","tool":"wrk","concurrency":64,\
        "ok":1000,"errors":0,"throughput_rps":10000.0,"p50_ms":2.0,"p90_ms":3.0,"p99_ms":4.0}
        """);
    Path summary = dir.resolve("summary.md");

    Run run = loadGen("report", "--results", results.toString(), "--out", summary.toString());

    assertThat(run.exitCode()).isZero();
    assertThat(Files.readString(summary)).contains("| sluice | 10000 | 2.000 | 3.000 | 4.000 | 0 |")
        .contains("Throughput sluice/nginx = 0.50 (target ≥ 0.8): MISSED");
  }

  @Test
  void shaping_misspelledOption_isRefused(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "60",
        "--limit", "600", "--out", dir.toString(), "--client-timout", "30");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).startsWith("Unknown options: '--client-timout', '30'\n"
        + "Possible solutions: --client-timeout\n");
  }

  @Test
  void shaping_windowLongerThanTheRun_isRefusedNamingTheRange(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "30",
        "--window", "60", "--limit", "600", "--out", dir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--window must be in 1..30, was 60");
  }

  @Test
  void shaping_unknownArrivals_isRefused(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "30",
        "--window", "10", "--limit", "600", "--out", dir.toString(), "--arrivals", "bursty");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo(
        "Invalid value for option '--arrivals': expected one of [EVEN, POISSON] (case-insensitive) but was 'bursty'");
  }

  @Test
  void shaping_everyOption_reachesTheRun(@TempDir Path dir) {
    CommandLine commandLine = ShapingLoad.commandLine();
    commandLine.parseArgs("--scenario", "drop", "--target", URL, "--sim", "http://127.0.0.1:9310",
        "--status", "http://127.0.0.1:9320/status", "--rate", "20", "--duration", "360", "--window", "60",
        "--seed", "7", "--arrivals", "poisson", "--limit", "600", "--drop-at", "180", "--drop-rpm", "300",
        "--client-timeout", "120", "--status-every", "5", "--out", dir.toString(), "--report-only",
        "--priorities", "normal", "--model", "nvidia/llama-3.1-nemotron-70b-instruct", "--deadline-seconds", "63",
        "--target-goodput-pct", "90", "--target-429-pct", "-1", "--target-urgent-p99-ms", "-1",
        "--target-unanswered", "-1", "--target-past-deadline", "0", "--target-429-run", "3");

    ShapingLoad shaping = commandLine.getCommand();
    assertThat(shaping.scenario).isEqualTo("drop");
    assertThat(shaping.simBase).isEqualTo("http://127.0.0.1:9310");
    assertThat(shaping.statusUri).isEqualTo(URI.create("http://127.0.0.1:9320/status"));
    assertThat(shaping.duration).isEqualTo(360);
    assertThat(shaping.seed).isEqualTo(7);
    assertThat(shaping.arrivals).isEqualTo(ShapingLoad.Arrivals.POISSON);
    assertThat(shaping.dropAt).isEqualTo(180);
    assertThat(shaping.dropRpm).isEqualTo(300);
    assertThat(shaping.out).isEqualTo(dir);
    assertThat(shaping.reportOnly).isTrue();
    assertThat(shaping.priorities).isEqualTo(ShapingLoad.Priorities.NORMAL);
    assertThat(shaping.model).isEqualTo("nvidia/llama-3.1-nemotron-70b-instruct");
    assertThat(shaping.deadlineSeconds).isEqualTo(63);
    assertThat(shaping.targetGoodputPct).isEqualTo(90.0);
    assertThat(shaping.target429Pct).isEqualTo(-1.0);
    assertThat(shaping.targetUrgentP99Millis).isEqualTo(-1.0);
    assertThat(shaping.targetUnanswered).isEqualTo(-1);
    assertThat(shaping.targetPastDeadline).isZero();
    assertThat(shaping.target429RunPct).isEqualTo(3.0);
  }

  @Test
  void shaping_defaults_areTheOriginalScenariosOnes(@TempDir Path dir) {
    CommandLine commandLine = ShapingLoad.commandLine();
    commandLine.parseArgs("--target", URL, "--sim", "http://127.0.0.1:9310", "--duration", "240", "--limit", "600",
        "--out", dir.toString());

    ShapingLoad shaping = commandLine.getCommand();
    assertThat(shaping.priorities).isEqualTo(ShapingLoad.Priorities.MIXED);
    assertThat(shaping.model).isEqualTo("nvidia/llama-3.1-8b");
    assertThat(shaping.deadlineSeconds).isEqualTo(-1);
    assertThat(shaping.targetGoodputPct).isEqualTo(95.0);
    assertThat(shaping.target429Pct).isEqualTo(2.0);
    assertThat(shaping.targetUrgentP99Millis).isEqualTo(2000.0);
    assertThat(shaping.targetUnanswered).isZero();
    assertThat(shaping.targetPastDeadline).isEqualTo(-1);
    assertThat(shaping.target429RunPct).isEqualTo(-1.0);
  }

  @Test
  void shaping_targetOutOfRange_isRefusedNamingTheRangeAndOff(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "30",
        "--window", "10", "--limit", "600", "--out", dir.toString(), "--target-429-run", "101");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--target-429-run must be -1 (off) or in 0..100, was 101");
  }

  @Test
  void shaping_pastDeadlineTargetWithoutADeadline_isRefused(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "30",
        "--window", "10", "--limit", "600", "--out", dir.toString(), "--target-past-deadline", "0");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--target-past-deadline needs --deadline-seconds");
  }

  @Test
  void shaping_unknownPriorities_isRefused(@TempDir Path dir) {
    Run run = run(ShapingLoad.commandLine(), "--target", URL, "--sim", "http://127.0.0.1:1", "--duration", "30",
        "--window", "10", "--limit", "600", "--out", dir.toString(), "--priorities", "urgent");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo(
        "Invalid value for option '--priorities': expected one of [MIXED, NORMAL] (case-insensitive) but was 'urgent'");
  }

  @Test
  void failover_everyOption_reachesTheRun(@TempDir Path dir) {
    CommandLine commandLine = FailoverLoad.commandLine();
    commandLine.parseArgs("--target", URL,
        "--sims", "http://127.0.0.1:9330,http://127.0.0.1:9331,http://127.0.0.1:9332", "--status", "http://127.0.0.1:9340/status", "--rate", "2.5", "--duration", "60", "--window", "20",
        "--seed", "7", "--model", "meta/m", "--key-rpm", "30", "--refuse-at", "20", "--refuse-sim", "3",
        "--reject-at", "40", "--reject-sim", "1", "--reject-key-env", "KEY_1", "--client-timeout", "90",
        "--status-every", "2", "--target-goodput-pct", "90", "--target-429-pct", "-1", "--target-urgent-p99-ms",
        "1500", "--target-key-errors", "-1", "--out", dir.toString(), "--report-only");

    FailoverLoad failover = commandLine.getCommand();
    assertThat(failover.sims).containsExactly("http://127.0.0.1:9330", "http://127.0.0.1:9331",
        "http://127.0.0.1:9332");
    assertThat(failover.statusUri).isEqualTo(URI.create("http://127.0.0.1:9340/status"));
    assertThat(failover.rate).isEqualTo(2.5);
    assertThat(failover.duration).isEqualTo(60);
    assertThat(failover.window).isEqualTo(20);
    assertThat(failover.seed).isEqualTo(7);
    assertThat(failover.model).isEqualTo("meta/m");
    assertThat(failover.keyRpm).isEqualTo(30);
    assertThat(failover.refuseAt).isEqualTo(20);
    assertThat(failover.refuseSim).isEqualTo(3);
    assertThat(failover.rejectAt).isEqualTo(40);
    assertThat(failover.rejectSim).isEqualTo(1);
    assertThat(failover.rejectKeyEnv).isEqualTo("KEY_1");
    assertThat(failover.clientTimeout).isEqualTo(90);
    assertThat(failover.statusEvery).isEqualTo(2);
    assertThat(failover.targetGoodputPct).isEqualTo(90.0);
    assertThat(failover.target429Pct).isEqualTo(-1.0);
    assertThat(failover.targetUrgentP99Millis).isEqualTo(1500.0);
    assertThat(failover.targetKeyErrors).isEqualTo(-1);
    assertThat(failover.out).isEqualTo(dir);
    assertThat(failover.reportOnly).isTrue();
  }

  @Test
  void failover_defaults_areTheIssuesBenchmark(@TempDir Path dir) {
    CommandLine commandLine = FailoverLoad.commandLine();
    commandLine.parseArgs("--target", URL, "--sims", "http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3",
        "--out", dir.toString());

    FailoverLoad failover = commandLine.getCommand();
    assertThat(failover.rate * 60).isEqualTo(150.0);
    assertThat(failover.duration).isEqualTo(240);
    assertThat(failover.window).isEqualTo(60);
    assertThat(failover.keyRpm).isEqualTo(40);
    assertThat(failover.refuseAt).isEqualTo(90);
    assertThat(failover.rejectAt).isEqualTo(150);
    assertThat(failover.targetGoodputPct).isEqualTo(95.0);
    assertThat(failover.target429Pct).isEqualTo(2.0);
    assertThat(failover.targetUrgentP99Millis).isEqualTo(2000.0);
    assertThat(failover.targetKeyErrors).isZero();
  }

  @Test
  void failover_theSameSimFailingTwice_isRefused(@TempDir Path dir) {
    Run run = run(FailoverLoad.commandLine(), "--target", URL, "--sims", "http://127.0.0.1:1,http://127.0.0.1:1",
        "--refuse-sim", "2", "--reject-sim", "2", "--out", dir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--refuse-sim and --reject-sim must name different sims, both were 2");
  }

  @Test
  void failover_aSimThatIsNotListed_isRefusedNamingTheRange(@TempDir Path dir) {
    Run run = run(FailoverLoad.commandLine(), "--target", URL, "--sims", "http://127.0.0.1:1,http://127.0.0.1:1",
        "--reject-sim", "3", "--out", dir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo("--reject-sim must be in 1..2, was 3");
  }

  @Test
  void failover_withoutTheKeyToReject_isRefusedBeforeSending(@TempDir Path dir) {
    Run run = run(FailoverLoad.commandLine(), "--target", URL, "--sims", "http://127.0.0.1:1,http://127.0.0.1:1",
        "--reject-key-env", "SLUICE_TEST_UNSET_VARIABLE_42", "--out", dir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.firstLine()).isEqualTo(
        "--reject-key-env must name a set environment variable, was SLUICE_TEST_UNSET_VARIABLE_42");
  }
}
