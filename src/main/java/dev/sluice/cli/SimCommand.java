package dev.sluice.cli;

import dev.sluice.sim.CompletionMode;
import dev.sluice.sim.RateAlgorithm;
import dev.sluice.sim.SimConfig;
import dev.sluice.sim.SimServer;
import dev.sluice.time.Clock;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sluice sim}: the simulated OpenAI provider alone, for load benchmarks and manual tests; with
 * {@code --providers N}, N independent ones on consecutive ports, each with its own limits, counters and control
 * endpoints. Options left out keep {@link SimConfig#defaults()}; each provider's settings can be changed later with
 * its {@code POST /sim/config}.
 */
@Command(name = "sim", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
    description = "Run the simulated OpenAI provider alone.")
public final class SimCommand implements Callable<Integer> {
  /** Most providers one {@code sluice sim} starts. */
  static final int MAX_PROVIDERS = 100;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "9300",
      description = "Port to listen on (the first one with --providers); 0 picks free ones (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--providers", defaultValue = "1", paramLabel = "N",
      description = "How many independent simulated providers to start with these options, on ports --port, "
          + "--port + 1, ...; 1.." + MAX_PROVIDERS + " (default: ${DEFAULT-VALUE}).")
  int providers;

  @Option(names = "--rpm", description = "Hidden limit in requests per minute; 0 = unlimited.")
  Integer rpm;

  @Option(names = "--burst", description = "Token-bucket capacity in requests; 0 = ceil(rpm / 6).")
  Integer burst;

  @Option(names = "--rate-algorithm", paramLabel = "token_bucket|sliding_window",
      description = "How --rpm is enforced (default: token_bucket).")
  String rateAlgorithm;

  @Option(names = "--max-concurrent", description = "Hidden limit of requests in flight; 0 = unlimited.")
  Integer maxConcurrent;

  @Option(names = "--tpm", description = "Hidden limit in tokens per minute (prompt + completion, counted when a "
      + "request is accepted); 0 = unlimited.")
  Integer tpm;

  @Option(names = "--token-budget", paramLabel = "TOKENS",
      description = "Hidden token budget per --budget-window-seconds (prompt + completion, counted when a request is "
          + "accepted); over it, a quota error; 0 = none (default: 0).")
  Long tokenBudget;

  @Option(names = "--budget-window-seconds", paramLabel = "SECONDS",
      description = "Length of the --token-budget's sliding window, in whole seconds, "
          + SimConfig.MIN_BUDGET_WINDOW_SECONDS + ".." + SimConfig.MAX_BUDGET_WINDOW_SECONDS + " (default: " + SimConfig.DEFAULT_BUDGET_WINDOW_SECONDS + ").")
  Integer budgetWindowSeconds;

  @Option(names = "--quota-status", description = "Status of the quota error, "
      + SimConfig.MIN_QUOTA_STATUS + ".." + SimConfig.MAX_QUOTA_STATUS + " (default: "
      + SimConfig.DEFAULT_QUOTA_STATUS + ").")
  Integer quotaStatus;

  @Option(names = "--quota-retry-after",
      description = "Send Retry-After with the quota error: seconds until the budget has room "
          + "(default: off, as OpenAI).")
  boolean quotaRetryAfter;

  @Option(names = "--quota-message", paramLabel = "TEXT",
      description = "Message of the quota error (default: OpenAI's \"You exceeded your current quota, ...\").")
  String quotaMessage;

  @Option(names = "--no-rate-headers",
      description = "Send no x-ratelimit-* headers, as a provider that has none (default: sent, as OpenAI).")
  boolean noRateHeaders;

  @Option(names = "--ttft-ms", description = "Delay before the first token, in milliseconds.")
  Long ttftMillis;

  @Option(names = "--ttft-jitter-ms",
      description = "Most extra delay before the first token, in milliseconds: each admitted call adds a uniform "
          + "draw in 0..this from the seeded dice (default: 0).")
  Long ttftJitterMillis;

  @Option(names = "--per-token-ms", description = "Delay between streamed tokens, in milliseconds.")
  Long perTokenMillis;

  @Option(names = "--completion-tokens",
      description = "Tokens per completion in fixed mode, and when a request names no max_tokens (default: 16).")
  Integer completionTokens;

  @Option(names = "--completion-mode", paramLabel = "fixed|max_tokens|uniform",
      description = "Completion length: --completion-tokens, exactly the request's max_tokens, or uniform in "
          + "1..max_tokens; never above max_tokens / max_completion_tokens (default: fixed).")
  String completionMode;

  @Option(names = "--error-rate",
      description = "Share of accepted requests answered with --error-status, 0.0..1.0.")
  Double errorRate;

  @Option(names = "--error-status", description = "Status of the errors --error-rate draws, 500..599 (default: 500).")
  Integer errorStatus;

  @Option(names = "--reset-rate", description = "Share of accepted requests whose connection is reset, 0.0..1.0.")
  Double resetRate;

  @Option(names = "--stall-rate", description = "Share of accepted streams that stall half-way, 0.0..1.0.")
  Double stallRate;

  @Option(names = "--stall-ms", description = "How long a stall lasts, in milliseconds (default: 600000).")
  Long stallMillis;

  @Option(names = "--seed", description = "Seed of the fault dice and of --completion-mode uniform (default: 0).")
  Long seed;

  @Option(names = "--model", paramLabel = "ID", description = "A model id to list (repeatable; replaces the defaults).")
  List<String> models;

  @Option(names = "--rejected-key", paramLabel = "KEY",
      description = "An API key answered 401 invalid_api_key, as a revoked key (repeatable).")
  List<String> rejectedKeys;

  /** For picocli. */
  public SimCommand() {}

  @Override
  public Integer call() throws Exception {
    SimConfig config;
    try {
      config = config();
      checkProviders();
    } catch (IllegalArgumentException e) {
      System.err.println("sluice sim: " + e.getMessage());
      return 2;
    }
    List<SimServer> servers = new ArrayList<>();
    try {
      for (int i = 0; i < providers; i++) {
        servers.add(SimServer.start(config, Clock.system(), host, port == 0 ? 0 : port + i));
      }
    } catch (IllegalArgumentException e) {
      servers.forEach(SimServer::close);
      System.err.println("sluice sim: " + e.getMessage());
      return 2;
    } catch (UncheckedIOException e) {
      servers.forEach(SimServer::close);
      System.err.println("sluice " + e.getMessage());
      return 1;
    }
    String shownHost = host.contains(":") ? "[" + host + "]" : host;
    for (SimServer server : servers) {
      System.out.println("sim listening on http://" + shownHost + ":" + server.port() + "/v1");
    }
    System.out.flush();
    Lifecycle.serveUntilStopped(servers.toArray(AutoCloseable[]::new));
    return 0;
  }

  /** Checks {@code --providers}, and that its ports from {@code --port} stay within 65535. */
  void checkProviders() {
    if (providers < 1 || providers > MAX_PROVIDERS) {
      throw new IllegalArgumentException("--providers: " + providers + " is outside 1.." + MAX_PROVIDERS);
    }
    if (port > 0 && port + providers - 1 > 65_535) {
      throw new IllegalArgumentException("--providers: " + providers + " providers from --port " + port
          + " would need ports up to " + (port + providers - 1) + ", past 65535");
    }
  }

  /** The config the options describe. */
  SimConfig config() {
    SimConfig c = SimConfig.defaults();
    if (rpm != null) {
      c = c.withRpm(rpm);
    }
    if (burst != null) {
      c = c.withBurst(burst);
    }
    if (rateAlgorithm != null) {
      c = c.withRateAlgorithm(RateAlgorithm.fromName(rateAlgorithm));
    }
    if (maxConcurrent != null) {
      c = c.withMaxConcurrent(maxConcurrent);
    }
    if (tpm != null) {
      c = c.withTpm(tpm);
    }
    if (tokenBudget != null) {
      c = c.withTokenBudget(tokenBudget);
    }
    if (budgetWindowSeconds != null) {
      c = c.withBudgetWindowSeconds(budgetWindowSeconds);
    }
    if (quotaStatus != null) {
      c = c.withQuotaStatus(quotaStatus);
    }
    if (quotaRetryAfter) {
      c = c.withQuotaRetryAfter(true);
    }
    if (quotaMessage != null) {
      c = c.withQuotaMessage(quotaMessage);
    }
    if (noRateHeaders) {
      c = c.withRateHeaders(false);
    }
    if (ttftMillis != null) {
      c = c.withTtftMillis(ttftMillis);
    }
    if (ttftJitterMillis != null) {
      c = c.withTtftJitterMillis(ttftJitterMillis);
    }
    if (perTokenMillis != null) {
      c = c.withPerTokenMillis(perTokenMillis);
    }
    if (completionTokens != null) {
      c = c.withCompletionTokens(completionTokens);
    }
    if (completionMode != null) {
      c = c.withCompletionMode(CompletionMode.fromName(completionMode));
    }
    if (errorRate != null) {
      c = c.withErrorRate(errorRate);
    }
    if (errorStatus != null) {
      c = c.withErrorStatus(errorStatus);
    }
    if (resetRate != null) {
      c = c.withResetRate(resetRate);
    }
    if (stallRate != null) {
      c = c.withStallRate(stallRate);
    }
    if (stallMillis != null) {
      c = c.withStallMillis(stallMillis);
    }
    if (seed != null) {
      c = c.withSeed(seed);
    }
    if (models != null && !models.isEmpty()) {
      c = c.withModels(models);
    }
    if (rejectedKeys != null) {
      c = c.withRejectedKeys(rejectedKeys);
    }
    return c;
  }
}
