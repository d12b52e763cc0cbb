package dev.sluice.store;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Objects;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Brings the store's schema up to date with the numbered migrations in {@code src/main/resources/db/migration}
 * ({@code V1__...sql}, {@code V2__...sql}, ...), and refuses a schema that a newer Sluice wrote. Stateless;
 * thread-safe.
 */
final class Migrations {
  static final String LOCATION = "classpath:db/migration";

  private Migrations() {}

  /**
   * Applies the migrations this Sluice has and the file has not, on the store's own connection.
   *
   * @return the schema version before and after, and how many migrations ran
   * @throws StoreException naming the file: its schema is newer than this Sluice's, or a migration failed
   */
  static MigrateResult apply(Connection connection, Path file) {
    Flyway flyway = Flyway.configure(Migrations.class.getClassLoader())
        .dataSource(new SingleConnectionDataSource(connection))
        .locations(LOCATION)
        .failOnMissingLocations(true)
        .load();
    try {
      refuseNewerSchema(flyway.info(), file);
      return flyway.migrate();
    } catch (FlywayException e) {
      throw new StoreException(file, SqliteFile.fileProblem(e)
          .orElseGet(() -> "migration failed: " + SqliteFile.oneLine(String.valueOf(e.getMessage()))), e);
    }
  }

  /** Flyway would skip migrations it does not know and carry on; a newer schema is not ours to write. */
  private static void refuseNewerSchema(MigrationInfoService info, Path file) {
    boolean future = Arrays.stream(info.all()).anyMatch(migration -> migration.getState() == MigrationState.FUTURE_SUCCESS
        || migration.getState() == MigrationState.FUTURE_FAILED);
    if (!future) {
      return;
    }
    String known = Arrays.stream(info.all())
        .filter(migration -> migration.getState().isResolved())
        .map(MigrationInfo::getVersion)
        .filter(Objects::nonNull)
        .max(Comparator.naturalOrder())
        .map(MigrationVersion::getVersion)
        .orElse("none");
    throw new StoreException(file, "schema version " + info.current().getVersion() + " was written by a newer Sluice;"
        + " this one knows versions up to " + known, null);
  }
}
