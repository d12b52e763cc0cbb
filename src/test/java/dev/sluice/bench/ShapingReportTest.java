package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The shaping report rebuilt from raw files ({@code --report-only}), so every figure can be checked by hand: 20
 * requests, one a second, in two 10 s windows against a hidden limit of 60 RPM; the sim counted 9 accepted and one
 * 429 in each window and one more accepted call during the drain. Request 3 got Sluice's 429 just under the 61 s
 * deadline, request 12 its 200 past it, request 15 no answer at all.
 */
class ShapingReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path dir;

  private void writeRun(boolean withDrainSample) throws Exception {
    List<String> rows = new ArrayList<>();
    rows.add("index,send_ms,send_lag_ms,priority,status,code,latency_ms,answered,failure");
    for (int i = 0; i < 20; i++) {
      String answer = switch (i) {
        case 3 -> "429,rate_limited,60000.500,true,";
        case 12 -> "200,,62000.000,true,";
        case 15 -> "0,,,false,HttpTimeoutException";
        default -> "200,,100.000,true,";
      };
      rows.add(i + "," + i * 1000 + ".000,0.500,normal," + answer);
    }
    Files.write(dir.resolve("requests.csv"), rows);
    Files.writeString(dir.resolve("sim-stats.jsonl"), """
        {"t_s":0.0,"data":{"accepted":100,"rejected_429":5}}
        {"t_s":10.0,"data":{"accepted":109,"rejected_429":6}}
        {"t_s":20.0,"data":{"accepted":118,"rejected_429":7}}
        """ + (withDrainSample ? "{\"t_s\":82.0,\"after_drain\":true,\"data\":{\"accepted\":119,\"rejected_429\":7}}\n"
            : ""));
    Files.writeString(dir.resolve("run.txt"), "count=20\ndrain_s=62\n");
  }

  private String report(String... targets) throws Exception {
    List<String> args = new ArrayList<>(List.of("--report-only", "--scenario", "defaults", "--target",
        "http://127.0.0.1:1/v1/chat/completions", "--sim", "http://127.0.0.1:1", "--rate", "1", "--duration", "20",
        "--window", "10", "--limit", "60", "--priorities", "normal", "--model", "nvidia/m", "--out", dir.toString()));
    args.addAll(List.of(targets));
    CommandLine commandLine = ShapingLoad.commandLine();
    StringWriter err = new StringWriter();
    commandLine.setErr(new PrintWriter(err, true));
    assertThat(commandLine.execute(args.toArray(String[]::new))).as(err.toString()).isZero();
    return Files.readString(dir.resolve("section.md"));
  }

  @Test
  void defaultsTargets_judgeGoodputAnswersDeadlineAndTheWholeRun429Share() throws Exception {
    writeRun(true);

    String md = report("--deadline-seconds", "61", "--target-429-pct", "-1", "--target-urgent-p99-ms", "-1",
        "--target-past-deadline", "0", "--target-429-run", "3");

    assertThat(md.lines()).contains(
        "| 1 (warm-up) | 60 | 54 | 90.0 | 10.0 | 9 | - | - | 0.10/0.10 | - | 429 rate_limited: 1 | 0 | 0 | 0.00 | - "
            + "| (MISS) | - | - | (PASS) | (PASS) |",
        "| 2 | 60 | 54 | 90.0 | 10.0 | 9 | - | - | 0.10/62.00 | - | - | 1 | 1 | 0.00 | - | MISS | - | - | MISS "
            + "| MISS |",
        "Whole run (0 s to 82.0 s, after the drain): upstream attempts 21 = 19 accepted + 2 429s, upstream 429 share "
            + "9.52 % — target ≤ 3 %: MISS. Answered 19 of 20, 1 past the 61 s deadline.",
        "Targets: goodput ≥ 95 % of the limit, every request answered, none past its deadline per window after the "
            + "first; upstream 429 share ≤ 3 % over the whole run. Judged: 0 PASS, 4 MISS — MISS: 10s-win 2 goodput; "
            + "10s-win 2 answered; 10s-win 2 on time; whole run 429 share (verdicts in parentheses are in windows not "
            + "judged; - is a target not set, n/a one with nothing to judge).");
    JsonNode report = JSON.readTree(dir.resolve("windows.json").toFile());
    assertThat(report.at("/windows/1/goodput_share_of_limit").asDouble()).isEqualTo(0.9);
    assertThat(report.at("/windows/1/past_deadline").asInt()).isEqualTo(1);
    assertThat(report.at("/windows/1/unanswered").asInt()).isEqualTo(1);
    assertThat(report.at("/run/upstream_attempts").asLong()).isEqualTo(21);
    assertThat(report.at("/run/upstream_rejected_429").asLong()).isEqualTo(2);
    assertThat(report.at("/run/target_429_share").asText()).isEqualTo("MISS");
    assertThat(report.at("/judged_miss").asInt()).isEqualTo(4);
  }

  @Test
  void defaultTargets_areTheOriginalFourPerWindow_andTheWholeRunIsReportedUnjudged() throws Exception {
    writeRun(true);

    String md = report();

    assertThat(md.lines()).contains(
        "| 2 | 60 | 54 | 90.0 | 10.0 | 9 | - | - | 0.10/62.00 | - | - | 1 | - | 0.00 | - | MISS | MISS | n/a | MISS "
            + "| - |",
        "Whole run (0 s to 82.0 s, after the drain): upstream attempts 21 = 19 accepted + 2 429s, upstream 429 share "
            + "9.52 %. Answered 19 of 20.",
        "Targets: goodput ≥ 95 % of the limit, upstream 429 share ≤ 2 %, urgent p99 ≤ 2 s, every request answered "
            + "per window after the first. Judged: 0 PASS, 3 MISS — MISS: 10s-win 2 goodput; 10s-win 2 429 share; "
            + "10s-win 2 answered (verdicts in parentheses are in windows not judged; - is a target not set, n/a one "
            + "with nothing to judge).");
  }

  @Test
  void wholeRun_withoutTheSampleAfterTheDrain_countsToTheLastWindowAndSaysSo() throws Exception {
    writeRun(false);

    String md = report("--target-429-run", "10");

    assertThat(md.lines()).contains("Whole run (0 s to 20.0 s, the end of the last window; the count after the "
        + "drain is missing): upstream attempts 20 = 18 accepted + 2 429s, upstream 429 share 10.00 % — target ≤ "
        + "10 %: PASS. Answered 19 of 20.");
  }
}
