package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * The pacing report, checkable by hand: three 10 s windows against a hidden 6,000 TPM (1,000 tokens per 10 s),
 * readings every 5 s. The sim accepted 900 tokens in the first window (the warm-up, not judged), 1,000 in the
 * second (100 %), 850 in the third (85 %: below the 90 % target); 7 accepted requests and one 429 over the run,
 * an eighth accepted in the drain.
 */
class TokenReportTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long S = 1_000_000_000L;
  private static final TokenReport.Settings SETTINGS = new TokenReport.Settings(30, 10, 6_000, 1, 90, 2);
  /** accepted_tokens, accepted, rejected_429 at 0, 5, ..., 30 s. */
  private static final long[][] SIM = {
      {0, 0, 0}, {400, 1, 0}, {900, 2, 0}, {1_400, 3, 0}, {1_900, 4, 0}, {2_300, 5, 1}, {2_750, 6, 1}};

  private static ObjectNode sim(long tokens, long accepted, long rejected) {
    ObjectNode sim = JSON.createObjectNode();
    sim.put("accepted_tokens", tokens);
    sim.put("accepted", accepted);
    sim.put("rejected_429", rejected);
    sim.put("rejected_by_tokens", rejected);
    return sim;
  }

  private static List<Sample> samples() {
    List<Sample> samples = new ArrayList<>();
    for (int k = 0; k < SIM.length; k++) {
      ObjectNode body = JSON.createObjectNode();
      body.set("sim", sim(SIM[k][0], SIM[k][1], SIM[k][2]));
      body.putNull("sluice");
      samples.add(new Sample(k * 5 * S + 1_000_000, body));
    }
    return samples;
  }

  private static Sample afterDrain() {
    ObjectNode body = JSON.createObjectNode();
    body.set("sim", sim(3_000, 7, 1));
    return new Sample(40 * S, body, true);
  }

  private static List<TokenCall> calls() {
    return List.of(
        new TokenCall(1 * S, 0, 300, 200, 200, "", S, 0.5, "", 500),
        new TokenCall(12 * S, 0, 400, 200, 200, "", S, 1500, "", 600),
        new TokenCall(21 * S, 0, 100, 100, 429, "rate_limited", S / 10, -1, "", -1),
        new TokenCall(25 * S, 0, 100, 100, 0, "", -1, -1, "HttpTimeoutException", -1));
  }

  @Test
  void windows_goodputIsTheSimsAcceptedTokensPerMinute_offeredAndCallersBeside() {
    List<TokenReport.Window> windows = TokenReport.windows(SETTINGS, calls(), samples());

    assertThat(windows).hasSize(3);
    TokenReport.Window first = windows.get(0);
    assertThat(first.judged()).isFalse();
    assertThat(first.upstream().acceptedTokens()).isEqualTo(900);
    assertThat(first.goodputTpm()).isEqualTo(5_400.0);
    assertThat(first.offeredTpm()).isEqualTo(3_000.0); // 500 tokens due in 10 s
    assertThat(first.callerGoodputTpm()).isEqualTo(3_000.0); // 500 tokens of usage answered at 2 s
    TokenReport.Window second = windows.get(1);
    assertThat(second.judged()).isTrue();
    assertThat(second.goodputTpm()).isEqualTo(6_000.0);
    assertThat(second.queueP50Millis()).isEqualTo(1500.0);
    TokenReport.Window third = windows.get(2);
    assertThat(third.goodputTpm()).isEqualTo(5_100.0);
    assertThat(third.upstream().rejected429()).isEqualTo(1);
    assertThat(third.outcomes()).containsEntry("429 rate_limited", 1)
        .containsEntry("no answer (HttpTimeoutException)", 1);
    assertThat(TokenReport.goodputPasses(SETTINGS, second)).isTrue();
    assertThat(TokenReport.goodputPasses(SETTINGS, third)).isFalse();
  }

  @Test
  void render_judgesWindowsAfterTheWarmup_andThe429ShareOverTheWholeRun() {
    TokenReport.Rendered r = TokenReport.render(SETTINGS, "### A", calls(), samples(), afterDrain());

    assertThat(r.markdown()).contains("| 1 (warm-up) | 3,000 | 5,400 | 90.0 |").contains("| (PASS) |")
        .contains("| 2 | ").contains("| 3 | ")
        .contains("8 upstream attempts = 7 accepted + 1 429s").contains("upstream 429 share 12.50 %")
        .contains("window 2 goodput PASS (6,000 TPM = 100.0 %)").contains("window 3 goodput FAIL (5,100 TPM = 85.0 %)")
        .contains("upstream 429 share FAIL (12.50 %)").contains("Judged: 1 PASS, 2 FAIL")
        .contains("Tokens accepted: 3,000 by the sim's count, 1,100 by the callers' usage (2 of 4 requests");
    assertThat(r.passes()).isEqualTo(1);
    assertThat(r.fails()).isEqualTo(2);
    assertThat(r.json().path("run").path("upstream_429_share").asDouble()).isEqualTo(0.125);
  }

  @Test
  void render_targetsOff_reportsWithoutJudging() {
    TokenReport.Settings off = new TokenReport.Settings(30, 10, 6_000, 1, -1, -1);

    TokenReport.Rendered r = TokenReport.render(off, "### A2", calls(), samples(), afterDrain());

    assertThat(r.passes()).isZero();
    assertThat(r.fails()).isZero();
    assertThat(r.markdown()).contains("Checks: none (targets off)").contains("| 6,000 | 100.0 |");
  }

  @Test
  void render_aMissingReading_failsItsWindow() {
    List<Sample> samples = samples();
    samples.set(4, new Sample(samples.get(4).offsetNanos(), null));

    TokenReport.Rendered r = TokenReport.render(SETTINGS, "### A", calls(), samples, afterDrain());

    assertThat(r.markdown()).contains("window 2 goodput FAIL (the sim's counters are missing)")
        .contains("window 3 goodput FAIL (the sim's counters are missing)");
  }

  @Test
  void reportOnly_rebuildsTheReportFromTheRawFiles(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("requests.csv"), """
        index,send_ms,send_lag_ms,prompt_tokens,max_tokens,status,code,latency_ms,queue_ms,failure,usage_total,request_id
        0,1000.000,0.100,300,200,200,,1000.000,0.500,,500,r0
        1,12000.000,0.100,400,200,200,,1000.000,1500.000,,600,r1
        2,21000.000,0.100,100,100,429,rate_limited,100.000,,,,r2
        """);
    List<Sample> lines = new ArrayList<>(samples());
    lines.add(afterDrain());
    Sample.write(dir.resolve("samples.jsonl"), lines);
    StringWriter err = new StringWriter();
    CommandLine commandLine = TokenLoad.commandLine();
    commandLine.setErr(new PrintWriter(err, true));
    commandLine.setOut(new PrintWriter(new StringWriter(), true));

    int exit = commandLine.execute("--report-only", "--mode", "pacing", "--scenario", "Run A",
        "--target", "http://127.0.0.1:1/v1/chat/completions", "--sim", "http://127.0.0.1:1", "--offered-tpm", "7800",
        "--hidden-tpm", "6000", "--duration", "30", "--window", "10", "--out", dir.toString());

    assertThat(exit).as(err.toString()).isZero();
    String section = Files.readString(dir.resolve("section.md"));
    assertThat(section).startsWith("### Run A\n\n3 requests over 30 s").contains("1.30 × the hidden 6,000 TPM")
        .contains("window 2 goodput PASS").contains("Tokens accepted: 3,000 by the sim's count, 1,100 by the callers'");
    assertThat(JSON.readTree(dir.resolve("report.json").toFile()).path("judged_fail").asInt()).isEqualTo(2);
  }

  @Test
  void aSamplingPeriodThatDoesNotDivideTheWindow_isRefused(@TempDir Path dir) {
    StringWriter err = new StringWriter();
    CommandLine commandLine = TokenLoad.commandLine();
    commandLine.setErr(new PrintWriter(err, true));

    int exit = commandLine.execute("--mode", "pacing", "--target", "http://127.0.0.1:1/v1/chat/completions",
        "--sim", "http://127.0.0.1:1", "--offered-tpm", "52000", "--duration", "180", "--sample-every", "7",
        "--out", dir.toString());

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).startsWith("--sample-every must divide --window, was 7 for a window of 60 s");
  }
}
