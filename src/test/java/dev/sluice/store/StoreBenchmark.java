package dev.sluice.store;

import dev.sluice.backend.OutOfService;
import dev.sluice.backend.SavedState;
import dev.sluice.backend.StateStore;
import dev.sluice.backend.UsageMinute;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the state store costs: opening and migrating a fresh file (once per start-up), and the write Sluice makes
 * every second, here 100 backends' states and two minutes of usage each. Real files in a temporary directory. Run
 * with {@code bench/jmh.sh StoreBenchmark}; surefire does not run it.
 */
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseSerialGC", "-Xmx256m", "--enable-native-access=ALL-UNNAMED"})
public class StoreBenchmark {
  static final int BACKENDS = 100;

  /** A fresh file per open: the first warm-up iteration is a cold start (native library, Flyway's classes). */
  @State(Scope.Thread)
  public static class FreshFile {
    Path dir;
    Path file;
    StateStore store;

    @Setup(Level.Invocation)
    public void create() throws IOException {
      dir = Files.createTempDirectory("sluice-store-bench");
      file = dir.resolve("data").resolve("sluice.db");
    }

    @TearDown(Level.Invocation)
    public void delete() throws IOException {
      store.close();
      deleteTree(dir);
    }
  }

  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @OutputTimeUnit(TimeUnit.MILLISECONDS)
  @Warmup(iterations = 5)
  @Measurement(iterations = 30)
  public StateStore openAndMigrateAFreshFile(FreshFile fresh) {
    fresh.store = SqliteStateStore.open(fresh.file);
    return fresh.store;
  }

  /** An open store on a file, and one second's batch: every backend's state and its current and last minute. */
  @State(Scope.Thread)
  public static class OpenStore {
    Path dir;
    StateStore store;
    List<SavedState> states;
    long minute = 29_000_000;

    @Setup(Level.Trial)
    public void open() throws IOException {
      dir = Files.createTempDirectory("sluice-store-bench");
      store = SqliteStateStore.open(dir.resolve("sluice.db"));
      states = IntStream.range(0, BACKENDS).mapToObj(i -> new SavedState("backend-" + i,
          i % 10 == 0 ? Optional.of(new OutOfService(false, 1_740_000_000_000L, 401)) : Optional.empty(), i % 4,
          1_740_000_000_000L + i, i % 2 == 0, 8 + i % 8, "NORMAL", 40, false, 0, "", 1_740_000_000_000L,
          300_000)).toList();
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
      store.close();
      deleteTree(dir);
    }

    Map<String, List<UsageMinute>> usage() {
      minute++;
      Map<String, List<UsageMinute>> usage = new LinkedHashMap<>();
      for (SavedState state : states) {
        usage.put(state.backendId(), List.of(new UsageMinute(minute - 1, 40_000), new UsageMinute(minute, minute)));
      }
      return usage;
    }
  }

  /** Each call moves on a minute, so the window slides and pruning deletes a minute per backend. */
  @Benchmark
  @BenchmarkMode(Mode.AverageTime)
  @OutputTimeUnit(TimeUnit.MICROSECONDS)
  @Warmup(iterations = 3, time = 2)
  @Measurement(iterations = 5, time = 2)
  public void write100BackendsTwoMinutes(OpenStore open) {
    Map<String, List<UsageMinute>> usage = open.usage();
    open.store.write(open.states, usage, open.minute - 300);
  }

  static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(path);
      }
    }
  }
}
