package dev.sluice.store;

import dev.sluice.backend.SavedState;
import dev.sluice.backend.StateStore;
import dev.sluice.backend.UsageMinute;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.flywaydb.core.api.output.MigrateResult;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded state store: one SQLite file (by default {@code ./data/sluice.db}), its schema brought up to date by
 * Flyway migrations at open, read and written through JDBI.
 *
 * <p>The file is opened in WAL mode with {@code synchronous=NORMAL}: a write costs no disk flush, and a process
 * killed with {@code kill -9} loses nothing it committed (a power cut may lose the last few). For as long as the
 * store is open this process holds an exclusive lock on the file, so a second Sluice on it fails at open with
 * {@link StoreException}; {@link #close()} releases the file. The path {@code :memory:} opens a store without a
 * file, whose state is gone when it closes.
 *
 * <p>Thread-safe: one connection serves every call, and one lock serialises them. Every call blocks on disk I/O;
 * call it off the proxy's I/O threads. {@link #write} is meant to run about once a second, the reads once at
 * start-up.
 */
public final class SqliteStateStore implements StateStore {
  /** The path that opens a store without a file, for tests and the demo. */
  public static final String IN_MEMORY = SqliteFile.IN_MEMORY;

  private static final Logger LOG = LoggerFactory.getLogger(SqliteStateStore.class);

  private final Path file;
  private final Connection connection;
  private final Handle handle;
  private final BackendStateRepository backendStates = new BackendStateRepository();
  private final TokenUsageRepository tokenUsage = new TokenUsageRepository();
  private final ReentrantLock lock = new ReentrantLock();
  private boolean closed; // guarded by lock

  private SqliteStateStore(Path file, Connection connection) {
    this.file = file;
    this.connection = connection;
    this.handle = Jdbi.create(connection).open();
  }

  /**
   * Opens the store at {@code file}, creating its directory and the file when missing, and migrates its schema;
   * {@code :memory:} ({@link #IN_MEMORY}) opens one without a file.
   *
   * @throws StoreException (one line naming the file and why) when the directory cannot be created or is not
   *     writable, the file is not a SQLite database, another process holds it, its schema was written by a newer
   *     Sluice, or a migration failed
   */
  public static StateStore open(Path file) {
    Path shown = SqliteFile.isInMemory(file) ? file : file.toAbsolutePath().normalize();
    Connection connection = SqliteFile.openLocked(shown);
    try {
      MigrateResult migrated = Migrations.apply(connection, shown);
      if (migrated.migrationsExecuted > 0) {
        LOG.info("state store {}: schema migrated from version {} to {}", shown,
            Objects.requireNonNullElse(migrated.initialSchemaVersion, "none"), migrated.targetSchemaVersion);
      }
      return new SqliteStateStore(shown, connection);
    } catch (RuntimeException e) {
      SqliteFile.closeQuietly(connection);
      throw e instanceof StoreException ? e : new StoreException(shown, SqliteFile.reason(e), e);
    }
  }

  /** A store without a file: nothing survives its {@link #close()}. */
  public static StateStore inMemory() {
    return open(Path.of(IN_MEMORY));
  }

  @Override
  public Map<String, SavedState> states() {
    return locked("read backends' state", backendStates::all);
  }

  @Override
  public Map<String, List<UsageMinute>> usageSince(long fromMinute) {
    return locked("read token usage", h -> tokenUsage.since(h, fromMinute));
  }

  @Override
  public void write(Collection<SavedState> states, Map<String, List<UsageMinute>> usage, long pruneBeforeMinute) {
    Objects.requireNonNull(states, "states");
    Objects.requireNonNull(usage, "usage");
    locked("write", h -> h.inTransaction(transaction -> {
      backendStates.upsert(transaction, states);
      tokenUsage.upsert(transaction, usage);
      return tokenUsage.deleteBefore(transaction, pruneBeforeMinute);
    }));
  }

  /** Writes what the log holds into the file and releases the file and its lock; a second call does nothing. */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      try {
        handle.close();
      } finally {
        connection.close();
      }
    } catch (SQLException | JdbiException e) {
      throw new StoreException(file, "cannot close: " + SqliteFile.reason(e), e);
    } finally {
      lock.unlock();
    }
  }

  private <T> T locked(String action, Function<Handle, T> work) {
    lock.lock();
    try {
      if (closed) {
        throw new IllegalStateException(this + " is closed");
      }
      return work.apply(handle);
    } catch (JdbiException e) {
      throw new StoreException(file, "cannot " + action + ": " + SqliteFile.reason(e), e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    lock.lock();
    try {
      return "SqliteStateStore[file=" + file + (closed ? ", closed]" : "]");
    } finally {
      lock.unlock();
    }
  }
}
