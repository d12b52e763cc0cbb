package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code sluice} command as a user runs it: a separate JVM, real environment, real exit codes. */
class CommandLineTest {

  private record Run(int exitCode, String stdout, String stderr) {}

  static ProcessBuilder sluice(Map<String, String> env, String... args) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.add("--enable-native-access=ALL-UNNAMED"); // SQLite's driver loads a native library
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Main.class.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().keySet().removeIf(name -> name.startsWith("SIDECAR_"));
    builder.environment().putAll(env);
    // An ephemeral metrics port, so that a run never depends on 9191 being free.
    builder.environment().putIfAbsent("SIDECAR_METRICS_PORT", "0");
    // No state file left in the working directory by a test that is not about it.
    builder.environment().putIfAbsent("SIDECAR_DB_PATH", ":memory:");
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
  void aCorruptStateFileStopsStartUpWithOneLineNamingTheFile(@TempDir Path dir) throws Exception {
    Path db = Files.writeString(dir.resolve("sluice.db"), "this is not a database, just text\n".repeat(200));
    Run run = run(Map.of("SIDECAR_PORT", "0", "SIDECAR_DB_PATH", db.toString()), "serve");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).startsWith("sluice: state store " + db.toAbsolutePath() + ": not a database")
        .endsWith(System.lineSeparator()).hasLineCount(1);
  }

  @Test
  void aStateFileAnotherSluiceUsesStopsStartUp(@TempDir Path dir) throws Exception {
    Path db = dir.resolve("sluice.db");
    Process first = sluice(Map.of("SIDECAR_PORT", "0", "SIDECAR_DB_PATH", db.toString()), "serve")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      new Output(first).await(Pattern.compile("^(Sluice listening on) "));
      Run second = run(Map.of("SIDECAR_PORT", "0", "SIDECAR_DB_PATH", db.toString()), "serve");
      assertThat(second.exitCode()).isEqualTo(2);
      assertThat(second.stderr()).startsWith("sluice: state store " + db.toAbsolutePath() + ": locked by another")
          .hasLineCount(1);
    } finally {
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
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
  void listeningBeyondLoopbackWithoutAnAdminTokenStopsStartUp() throws Exception {
    Run run = run(Map.of("SIDECAR_HOST", "0.0.0.0", "SIDECAR_PORT", "0"));
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.stderr()).isEqualTo("sluice: invalid configuration: SIDECAR_ADMIN_TOKEN: is not set, but Sluice"
        + " listens on 0.0.0.0, beyond loopback, where anyone who reaches the port could change its settings"
        + " through the admin API; set a token, or listen on 127.0.0.1" + System.lineSeparator());
  }

  @Test
  void aTakenMetricsPortStopsStartUpNamingBothPorts() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Run run = run(Map.of("SIDECAR_PORT", "0", "SIDECAR_METRICS_PORT", Integer.toString(taken.getLocalPort())),
          "serve");
      assertThat(run.exitCode()).isEqualTo(1);
      assertThat(run.stderr()).startsWith("sluice: cannot listen on 127.0.0.1:0 and :" + taken.getLocalPort()
          + " (metrics): ").contains("127.0.0.1:" + taken.getLocalPort());
    }
  }

  /** The JSON log events {@code sluice serve} writes to stdout before it says it is listening. */
  private static List<JsonNode> startUpLog(Map<String, String> env) throws Exception {
    Process serve = sluice(env, "serve").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try {
      Output out = new Output(serve);
      out.await(Pattern.compile("^(Sluice listening on) "));
      ObjectMapper json = new ObjectMapper();
      List<JsonNode> events = new ArrayList<>();
      for (String line : out.seen) {
        if (line.startsWith("{")) {
          events.add(json.readTree(line));
        }
      }
      return events;
    } finally {
      serve.destroy();
      assertThat(serve.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  private static List<String> warnings(List<JsonNode> events) {
    return events.stream().filter(event -> event.path("level").asText().equals("WARN"))
        .map(event -> event.path("logger").asText() + ": " + event.path("msg").asText()).toList();
  }

  @Test
  void serveWarnsAtStartUpAboutABackendWithoutAKey() throws Exception {
    List<JsonNode> events = startUpLog(Map.of("SIDECAR_PORT", "0", "SIDECAR_UPSTREAM", "http://127.0.0.1:9/v1"));
    assertThat(warnings(events)).containsExactly("dev.sluice.cli.ServeCommand: backend nvidia-default of pool nvidia"
        + " has no API key: callers' Authorization headers are forwarded to http://127.0.0.1:9/v1");
  }

  @Test
  void serveStartsWithoutWarningWhenEveryBackendHasAKey() throws Exception {
    List<JsonNode> events = startUpLog(Map.of("SIDECAR_PORT", "0", "SIDECAR_UPSTREAM", "http://127.0.0.1:9/v1",
        "SIDECAR_API_KEY", "nvapi-test-key"));
    assertThat(events).anySatisfy(event -> assertThat(event.path("msg").asText())
        .matches("sluice \\S+ listening on http://127\\.0\\.0\\.1:\\d+/v1"));
    assertThat(warnings(events)).isEmpty();
  }

  @Test
  void demoServesChatWithoutAProviderKey() throws Exception {
    Process demo = sluice(Map.of(), "demo", "--port", "0").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (HttpClient http = HttpClient.newHttpClient()) {
      Output out = new Output(demo);
      URI base = URI.create(out.await(Pattern.compile("OpenAI-compatible base URL\\s*:\\s*(http://\\S+)")));
      List<URI> sims = new ArrayList<>();
      for (String id : List.of("sim-a", "sim-b", "sim-c")) {
        sims.add(URI.create(out.await(Pattern.compile("^    " + id + " +(http://\\S+) +hidden limits: \\d+ requests/min, "
            + "4 at once; Sluice's rate: \\d+ requests/min$"))));
      }
      out.await(Pattern.compile("(Press Ctrl-C to stop)"));
      assertThat(out.seen).anyMatch(line -> line.trim().startsWith("curl -s " + base + "/chat/completions "));
      assertThat(out.seen).anyMatch(line -> line.contains("OpenAI(base_url=\"" + base + "\""));
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(
              "{\"model\":\"nvidia/llama-3.1-nemotron-70b-instruct\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.body()).contains("\"chat.completion\"");
      // Each simulated key is a provider of its own, with its own counters: the one call reached exactly one.
      long accepted = 0;
      for (URI sim : sims) {
        HttpResponse<String> stats = http.send(HttpRequest.newBuilder(URI.create(sim.toString()
            .replace("/v1", "/sim/stats"))).build(), HttpResponse.BodyHandlers.ofString());
        accepted += new ObjectMapper().readTree(stats.body()).get("accepted").asLong();
      }
      assertThat(accepted).isEqualTo(1);
    } finally {
      demo.destroy();
      assertThat(demo.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void simRunsAloneWithItsHiddenLimitAndModels() throws Exception {
    Process sim = sluice(Map.of(), "sim", "--port", "0", "--rpm", "1", "--burst", "1", "--completion-tokens", "3",
        "--model", "m-1", "--model", "m-2").redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (HttpClient http = HttpClient.newHttpClient()) {
      URI base = URI.create(new Output(sim).await(Pattern.compile("sim listening on (http://\\S+)")));
      HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(base + "/models")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(models.body()).contains("\"m-1\"", "\"m-2\"");
      HttpRequest chat = HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
          .header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m-1\",\"messages\":[]}")).build();
      HttpResponse<String> first = http.send(chat, HttpResponse.BodyHandlers.ofString());
      assertThat(first.statusCode()).isEqualTo(200);
      assertThat(first.body()).contains("\"completion_tokens\":3");
      HttpResponse<String> second = http.send(chat, HttpResponse.BodyHandlers.ofString());
      assertThat(second.statusCode()).isEqualTo(429);
      assertThat(second.headers().firstValue("Retry-After")).isPresent();
    } finally {
      sim.destroy();
      assertThat(sim.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void simStartsSeveralIndependentProvidersAndPrintsOneLineEach() throws Exception {
    Process sim = sluice(Map.of(), "sim", "--port", "0", "--providers", "3", "--rpm", "1", "--burst", "1")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (HttpClient http = HttpClient.newHttpClient()) {
      Output out = new Output(sim);
      List<URI> bases = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        bases.add(URI.create(out.await(Pattern.compile("^sim listening on (http://127\\.0\\.0\\.1:\\d+/v1)$"))));
      }
      assertThat(bases).doesNotHaveDuplicates();
      for (URI base : bases) {
        assertThat(chat(http, base).statusCode()).isEqualTo(200); // each its own bucket of one
      }
      assertThat(chat(http, bases.get(0)).statusCode()).isEqualTo(429);

      HttpResponse<String> unlimited = http.send(HttpRequest.newBuilder(
          URI.create(bases.get(1).toString().replace("/v1", "/sim/config")))
          .POST(HttpRequest.BodyPublishers.ofString("{\"rpm\":0}")).build(), HttpResponse.BodyHandlers.ofString());
      assertThat(unlimited.statusCode()).isEqualTo(200);
      assertThat(chat(http, bases.get(1)).statusCode()).isEqualTo(200);
      assertThat(chat(http, bases.get(2)).statusCode()).isEqualTo(429);
    } finally {
      sim.destroy();
      assertThat(sim.waitFor(20, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void simRefusesAProviderCountOutOfRangeOrPastTheLastPort() throws Exception {
    Run none = run(Map.of(), "sim", "--port", "0", "--providers", "0");
    Run past = run(Map.of(), "sim", "--port", "65535", "--providers", "2");

    assertThat(none.exitCode()).isEqualTo(2);
    assertThat(none.stderr()).isEqualTo("sluice sim: --providers: 0 is outside 1..100" + System.lineSeparator());
    assertThat(past.exitCode()).isEqualTo(2);
    assertThat(past.stderr()).isEqualTo("sluice sim: --providers: 2 providers from --port 65535 would need ports up "
        + "to 65536, past 65535" + System.lineSeparator());
  }

  private static HttpResponse<String> chat(HttpClient http, URI base) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + "/chat/completions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"messages\":[]}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** A process's standard output, read line by line on its own thread so that the pipe never fills. */
  static final class Output {
    private static final String END = "\u0000end";
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    final List<String> seen = new ArrayList<>();

    Output(Process process) {
      BufferedReader reader =
          new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Thread.ofVirtual().start(() -> {
        try (reader) {
          for (String line = reader.readLine(); line != null; line = reader.readLine()) {
            lines.add(line);
          }
        } catch (IOException ignored) {
          // the process ended
        }
        lines.add(END);
      });
    }

    /** Waits for the next line matching {@code pattern} and returns its first group. */
    String await(Pattern pattern) throws InterruptedException {
      while (true) {
        String line = lines.poll(60, TimeUnit.SECONDS);
        if (line == null || line.equals(END)) {
          throw new AssertionError("no line matching " + pattern + "; the output was " + seen);
        }
        seen.add(line);
        Matcher matcher = pattern.matcher(line);
        if (matcher.find()) {
          return matcher.group(1);
        }
      }
    }
  }

}
