package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code sluice} command as a user runs it: a separate JVM, real environment, real exit codes. */
class CommandLineTest {

  private record Run(int exitCode, String stdout, String stderr) {}

  private static ProcessBuilder sluice(Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().keySet().removeIf(name -> name.startsWith("SIDECAR_"));
    builder.environment().putAll(env);
    return builder;
  }

  private static Run run(Map<String, String> env, String... args) throws Exception {
    Process process = sluice(env, args).start();
    process.getOutputStream().close();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("sluice " + String.join(" ", args) + " did not finish");
    }
    return new Run(process.exitValue(), new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8),
        new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void versionPrintsTheBuildVersion() throws Exception {
    Run run = run(Map.of(), "--version");
    assertThat(run.exitCode()).isZero();
    assertThat(run.stdout()).matches("sluice \\d+\\.\\d+\\.\\d+\\S*\\R");
  }

  @Test
  void helpListsTheCommands() throws Exception {
    Run run = run(Map.of(), "--help");
    assertThat(run.exitCode()).isZero();
    assertThat(run.stdout()).contains("serve", "demo", "sim", "--version");
  }

  @Test
  void invalidEnvironmentStopsStartUpWithOneLineNamingKeyValueAndRange() throws Exception {
    Run run = run(Map.of("SIDECAR_RATE_RPM", "0", "SIDECAR_PORT", "0"));
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).isEqualTo(
        "sluice: invalid configuration: SIDECAR_RATE_RPM: 0 is outside 1..100000" + System.lineSeparator());
  }

  @Test
  void invalidConfigFileStopsStartUp(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("sluice.yaml"), "defaults: {timeout_seconds: 0}\n");
    Run run = run(Map.of(), "serve", "--config", file.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).isEqualTo(
        "sluice: invalid configuration: defaults.timeout_seconds: 0 is outside 1..3600" + System.lineSeparator());
  }

  @Test
  void demoServesChatWithoutAProviderKey() throws Exception {
    Process demo = sluice(Map.of(), "demo", "--port", "0").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (HttpClient http = HttpClient.newHttpClient()) {
      URI base = awaitBaseUrl(demo);
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"nvidia/llama-3.1-nemotron-70b-instruct\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("\"chat.completion\"");
    } finally {
      demo.destroy();
      assertThat(demo.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static URI awaitBaseUrl(Process demo) throws IOException {
    Pattern baseLine = Pattern.compile("OpenAI-compatible base URL\\s*:\\s*(http://\\S+)");
    BufferedReader out = new BufferedReader(new InputStreamReader(demo.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null) {
      Matcher matcher = baseLine.matcher(line);
      if (matcher.find()) {
        Thread.ofVirtual().start(() -> drain(out));
        return URI.create(matcher.group(1));
      }
    }
    throw new AssertionError("demo exited without printing its base URL");
  }

  private static void drain(BufferedReader out) {
    try {
      while (out.readLine() != null) {
        // keep the pipe from filling up
      }
    } catch (IOException ignored) {
      // the process ended
    }
  }
}
