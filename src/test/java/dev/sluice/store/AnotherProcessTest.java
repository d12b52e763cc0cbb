package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sluice.backend.StateStore;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Another JVM holding the file, as a second Sluice would, and the same JVM killed with SIGKILL mid-life. */
class AnotherProcessTest {
  @TempDir
  Path dir;

  private static Process holder(Path file) throws Exception {
    ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        StoreHolder.class.getName(), file.toString());
    return builder.redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aFileHeldByAnotherProcessIsRefusedAndAfterItsKillNineEverythingItWroteIsThere() throws Exception {
    Path file = dir.resolve("data").resolve("sluice.db");
    Process holder = holder(file);
    try {
      BufferedReader output = new BufferedReader(new InputStreamReader(holder.getInputStream(),
          StandardCharsets.UTF_8));
      assertThat(output.readLine()).isEqualTo("ready");

      assertThatThrownBy(() -> SqliteStateStore.open(file))
          .isInstanceOf(StoreException.class)
          .hasMessage("state store " + file + ": locked by another process (is another Sluice using it?)");

      holder.destroyForcibly(); // SIGKILL: no close, no checkpoint; the write-ahead log stays behind
      assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
    } finally {
      holder.destroyForcibly();
    }
    assertThat(file.resolveSibling("sluice.db-wal")).isNotEmptyFile();

    try (StateStore store = SqliteStateStore.open(file)) {
      assertThat(store.states()).isEqualTo(Map.of("nv-1", StoreHolder.STATE));
      assertThat(store.usageSince(0)).isEqualTo(StoreHolder.USAGE);
    }
  }

  @Test
  @Timeout(value = 60, unit = TimeUnit.SECONDS)
  void aHolderThatClosesReleasesTheFile() throws Exception {
    Path file = dir.resolve("sluice.db");
    Process holder = holder(file);
    try {
      BufferedReader output = new BufferedReader(new InputStreamReader(holder.getInputStream(),
          StandardCharsets.UTF_8));
      assertThat(output.readLine()).isEqualTo("ready");
      holder.getOutputStream().close();
      assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(holder.exitValue()).isZero();
    } finally {
      holder.destroyForcibly();
    }

    assertThat(file.resolveSibling("sluice.db-wal")).doesNotExist();
    try (StateStore store = SqliteStateStore.open(file)) {
      assertThat(store.usageSince(0)).isEqualTo(StoreHolder.USAGE);
    }
  }
}
