package dev.sluice.store;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteException;

/**
 * Opens the store's SQLite file and takes it for this process alone, and says in a few words why that failed.
 *
 * <p>The connection runs in exclusive locking mode with a write-ahead log: the first access takes an exclusive
 * lock on the file and the connection keeps it until it closes, so a second Sluice (or a second store in this JVM)
 * on the same file fails at open, after at most {@link #LOCK_WAIT_MILLIS}. Stateless; thread-safe.
 */
final class SqliteFile {
  /** The path that stands for a store without a file: nothing survives its close. */
  static final String IN_MEMORY = ":memory:";

  /**
   * How long an open waits for another process's lock before it reports the file locked, in milliseconds. Once
   * open, this process holds the lock, so nothing else ever waits on it.
   */
  static final int LOCK_WAIT_MILLIS = 250;

  private static final Logger LOG = LoggerFactory.getLogger(SqliteFile.class);

  // SQLite's primary result codes (an extended code carries one in its low byte).
  private static final int SQLITE_BUSY = 5;
  private static final int SQLITE_LOCKED = 6;
  private static final int SQLITE_READONLY = 8;
  private static final int SQLITE_IOERR = 10;
  private static final int SQLITE_CORRUPT = 11;
  private static final int SQLITE_FULL = 13;
  private static final int SQLITE_CANTOPEN = 14;
  private static final int SQLITE_NOTADB = 26;

  private SqliteFile() {}

  static boolean isInMemory(Path file) {
    return file.toString().equals(IN_MEMORY);
  }

  /**
   * Opens {@code file} (absolute, or {@link #IN_MEMORY}), creating its directory and the file when missing, and
   * holds its lock until the connection closes.
   *
   * @throws StoreException naming the file and why it cannot be opened
   */
  static Connection openLocked(Path file) {
    if (!isInMemory(file)) {
      checkLocation(file);
    }
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout(LOCK_WAIT_MILLIS);
    Connection connection;
    try {
      connection = config.createConnection("jdbc:sqlite:" + file);
    } catch (SQLException e) {
      throw new StoreException(file, reason(e), e);
    }
    try (Statement statement = connection.createStatement()) {
      // Exclusive mode first: entering WAL in it keeps the log's index in this process's memory (no -shm file),
      // so no other process can even read the file while this one has it.
      statement.execute("PRAGMA locking_mode = EXCLUSIVE");
      String journalMode;
      try (ResultSet result = statement.executeQuery("PRAGMA journal_mode = WAL")) {
        journalMode = result.next() ? result.getString(1) : "";
      }
      if (!isInMemory(file) && !journalMode.equalsIgnoreCase("wal")) {
        LOG.warn("state store {}: journal mode is {}, not WAL: writes will be slower", file, journalMode);
      }
      statement.execute("PRAGMA synchronous = NORMAL");
      // Takes the exclusive lock now, whatever the file held (entering WAL on a fresh file already did).
      statement.execute("BEGIN EXCLUSIVE");
      statement.execute("COMMIT");
      return connection;
    } catch (SQLException e) {
      closeQuietly(connection);
      throw new StoreException(file, reason(e), e);
    }
  }

  private static void checkLocation(Path file) {
    if (Files.isDirectory(file)) {
      throw new StoreException(file, "it is a directory, not a file", null);
    }
    Path directory = file.getParent();
    if (!Files.isDirectory(directory)) {
      try {
        Files.createDirectories(directory);
      } catch (IOException e) {
        throw new StoreException(file, "cannot create directory " + directory + " (" + describe(e) + ")", e);
      }
    }
    if (!Files.isWritable(directory)) {
      throw new StoreException(file, "directory " + directory + " is not writable", null);
    }
    if (Files.exists(file) && !Files.isWritable(file)) {
      throw new StoreException(file, "the file is not writable", null);
    }
  }

  private static String describe(IOException e) {
    return switch (e) {
      case AccessDeniedException denied -> "permission denied: " + denied.getFile();
      case FileAlreadyExistsException exists -> exists.getFile() + " exists and is not a directory";
      default -> oneLine(e.getMessage());
    };
  }

  /** Why SQLite refused, in a few words, from the first SQLite error in the chain of {@code failure}. */
  static String reason(Throwable failure) {
    return fileProblem(failure).orElseGet(() -> firstSqlite(failure)
        .map(SqliteFile::sqliteMessage)
        .orElseGet(() -> oneLine(String.valueOf(failure.getMessage()))));
  }

  /**
   * What is wrong with the file itself (locked, not a database, read-only, ...) when the chain of {@code failure}
   * holds a SQLite error saying so; empty for other failures, such as a bad statement.
   */
  static Optional<String> fileProblem(Throwable failure) {
    return firstSqlite(failure).map(sqlite -> switch (sqlite.getResultCode().code & 0xff) {
      case SQLITE_BUSY, SQLITE_LOCKED -> "locked by another process (is another Sluice using it?)";
      case SQLITE_NOTADB, SQLITE_CORRUPT -> "not a database, or a corrupt one (" + sqliteMessage(sqlite) + ")";
      case SQLITE_READONLY -> "the file is read-only";
      case SQLITE_CANTOPEN -> "cannot open the file";
      case SQLITE_FULL -> "the disk is full";
      case SQLITE_IOERR -> "I/O error (" + sqliteMessage(sqlite) + ")";
      default -> null;
    });
  }

  private static Optional<SQLiteException> firstSqlite(Throwable failure) {
    for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLiteException sqlite) {
        return Optional.of(sqlite);
      }
    }
    return Optional.empty();
  }

  /** SQLite's own words, e.g. {@code file is not a database}, without the driver's code prefix. */
  private static String sqliteMessage(SQLiteException e) {
    String message = oneLine(String.valueOf(e.getMessage()));
    int open = message.lastIndexOf('(');
    return open >= 0 && message.endsWith(")") ? message.substring(open + 1, message.length() - 1) : message;
  }

  /** Folds a message over several lines (as Flyway writes them) into one. */
  static String oneLine(String message) {
    return message.strip().replaceAll("\\s*\\R\\s*", " ");
  }

  static void closeQuietly(Connection connection) {
    try {
      connection.close();
    } catch (SQLException e) {
      LOG.debug("closing a state store connection that failed to open", e);
    }
  }
}
