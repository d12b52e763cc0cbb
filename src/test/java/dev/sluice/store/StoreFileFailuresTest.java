package dev.sluice.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.sluice.backend.StateStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A file that cannot be opened or migrated stops the store with one line naming the file and why. */
class StoreFileFailuresTest {
  @TempDir
  Path dir;

  private Path file() {
    return dir.resolve("sluice.db");
  }

  private static void assertOneLine(Throwable thrown) {
    assertThat(thrown.getMessage()).doesNotContain("\n", "\r", "\tat ");
  }

  private void execute(String... statements) throws SQLException {
    try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file());
         Statement statement = connection.createStatement()) {
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }

  @Test
  void randomBytesAreNotADatabase() throws IOException {
    byte[] noise = new byte[8192];
    new Random(16).nextBytes(noise);
    Files.write(file(), noise);

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file() + ": not a database, or a corrupt one (file is not a database)")
        .satisfies(StoreFileFailuresTest::assertOneLine);
  }

  @Test
  void aTextFileIsNotADatabase() throws IOException {
    Files.writeString(file(), "server:\n  port: 9190\n".repeat(100));

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file() + ": not a database, or a corrupt one (file is not a database)");
  }

  @Test
  void aSecondStoreOnTheSameFileIsRefusedAtOnceUntilTheFirstCloses() {
    StateStore first = SqliteStateStore.open(file());
    long start = System.nanoTime();

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file() + ": locked by another process (is another Sluice using it?)")
        .satisfies(StoreFileFailuresTest::assertOneLine);
    // Refused after the short lock wait, not after a long busy timeout (generous bound: a shared machine).
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);

    first.write(List.of(), Map.of("nv-1", List.of(new dev.sluice.backend.UsageMinute(1, 1))), 0);
    first.close();
    try (StateStore second = SqliteStateStore.open(file())) {
      assertThat(second.usageSince(0)).containsOnlyKeys("nv-1");
    }
  }

  @Test
  void aSchemaWrittenByANewerSluiceIsRefused() throws SQLException {
    SqliteStateStore.open(file()).close();
    execute("""
        INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,
            installed_by, installed_on, execution_time, success)
        VALUES (2, '2', 'from the future', 'SQL', 'V2__from_the_future.sql', 0, '', CURRENT_TIMESTAMP, 1, 1)
        """);

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file() + ": schema version 2 was written by a newer Sluice;"
            + " this one knows versions up to 1");
    // The refusal released the file.
    execute("DELETE FROM flyway_schema_history WHERE version = '2'");
    SqliteStateStore.open(file()).close();
  }

  @Test
  void aMigrationThatNoLongerMatchesTheFileIsRefused() throws SQLException {
    SqliteStateStore.open(file()).close();
    execute("UPDATE flyway_schema_history SET checksum = 1 WHERE version = '1'");

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessageStartingWith("state store " + file() + ": migration failed: Validate failed:")
        .hasMessageContaining("Migration checksum mismatch for migration version 1")
        .satisfies(StoreFileFailuresTest::assertOneLine);
  }

  @Test
  void aDirectoryThatCannotBeCreatedIsNamed() throws IOException {
    Path notADirectory = Files.writeString(dir.resolve("data"), "a file where the directory should be");
    Path file = notADirectory.resolve("sluice.db");

    assertThatThrownBy(() -> SqliteStateStore.open(file))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file + ": cannot create directory " + notADirectory + " (" + notADirectory
            + " exists and is not a directory)");
  }

  @Test
  void aDirectoryWhereTheFileShouldBeIsNamed() throws IOException {
    Files.createDirectory(file());

    assertThatThrownBy(() -> SqliteStateStore.open(file()))
        .isInstanceOf(StoreException.class)
        .hasMessage("state store " + file() + ": it is a directory, not a file");
  }

  @Test
  void anUnwritableDirectoryIsNamed() throws IOException {
    Path readOnly = Files.createDirectory(dir.resolve("read-only"));
    Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r-xr-xr-x"));
    try {
      assumeFalse(Files.isWritable(readOnly), "permissions do not bind this user (root)");
      Path file = readOnly.resolve("sluice.db");

      assertThatThrownBy(() -> SqliteStateStore.open(file))
          .isInstanceOf(StoreException.class)
          .hasMessage("state store " + file + ": directory " + readOnly + " is not writable");
    } finally {
      Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
  }
}
