package dev.sluice.bench;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * How long a request-response load runs (a picocli mixin of {@link OpenLoop} and {@link ClosedLoop}): the seconds
 * measured, the seconds of load before them that are not recorded, and each request's timeout. Filled by picocli
 * before the mode runs; not thread-safe, and needs not be.
 */
final class RunLength {
  @Option(names = "--duration", required = true, paramLabel = "S", description = "Seconds measured, 1..600.")
  double durationSeconds;

  @Option(names = "--warmup", defaultValue = "2", paramLabel = "S",
      description = "Seconds of the same load first, not recorded, 0..600; default ${DEFAULT-VALUE}.")
  double warmupSeconds;

  @Option(names = "--timeout", defaultValue = "10", paramLabel = "S",
      description = "Per-request timeout in seconds, 1..600; default ${DEFAULT-VALUE}.")
  long timeoutSeconds;

  /** Refuses a value outside its range, naming the option (see {@link Ranges}). */
  void check(CommandSpec spec) {
    Ranges.require(spec, "--duration", durationSeconds, 1, 600);
    Ranges.require(spec, "--warmup", warmupSeconds, 0, 600);
    Ranges.require(spec, "--timeout", timeoutSeconds, 1, 600);
  }
}
