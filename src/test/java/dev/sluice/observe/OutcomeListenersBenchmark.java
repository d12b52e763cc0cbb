package dev.sluice.observe;

import dev.sluice.backend.Outcome;
import dev.sluice.backend.Priority;
import dev.sluice.observe.dashboard.Traffic;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH microbenchmarks of what every finished request costs the operations surface: the metrics listener
 * ({@link RequestMetrics}), the dashboard's per-second counts ({@link Traffic}) and the {@code /status} counters
 * ({@link ProxyStats}), each fed the outcome of a shaped, answered chat request. The {@code TwoThreads} variants
 * have two threads update the same series at once, as two selector threads finishing requests do. Run with
 * {@code bench/jmh.sh OutcomeListeners} (see BENCHMARKS.md); surefire does not run it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseG1GC", "-Xmx256m"})
public class OutcomeListenersBenchmark {
  private static final Outcome ANSWERED = new Outcome("k3j-1", "POST", "/v1/chat/completions", Optional.of("nvidia"),
      Optional.of("nv-1"), Optional.of("nvidia/llama-3"), Priority.NORMAL, false, 200, Outcome.Failure.NONE, 12_000,
      812_400_000, 301_200_000, 85_000, 812_500_000, 5_120, 1,
      Optional.of(new Outcome.Usage(12, 240, 252)), List.of());

  private final RequestMetrics metrics = new RequestMetrics(new PrometheusRegistry(),
      Map.of("nvidia", List.of("nv-1")));
  private final Traffic traffic = new Traffic();
  private final ProxyStats stats = new ProxyStats();

  @Benchmark
  public void metrics() {
    metrics.onOutcome(ANSWERED);
  }

  @Benchmark
  @Threads(2)
  public void metricsTwoThreads() {
    metrics.onOutcome(ANSWERED);
  }

  @Benchmark
  public void dashboardTraffic() {
    traffic.onOutcome(ANSWERED);
  }

  @Benchmark
  public void statusCounters() {
    stats.onOutcome(ANSWERED);
  }
}
