package dev.sluice.store;

import java.nio.file.Path;

/**
 * The state store's file cannot be opened, migrated, read or written. The message is one line naming the file and
 * why, fit to show an operator as the reason Sluice did not start, e.g. {@code state store /srv/data/sluice.db:
 * locked by another process (is another Sluice using it?)}; the underlying exception, if any, is the cause.
 */
public final class StoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String file;

  StoreException(Path file, String reason, Throwable cause) {
    super("state store " + file + ": " + reason, cause);
    this.file = file.toString();
  }

  /** The file at fault, as the message names it ({@code :memory:} for a store without a file). */
  public String file() {
    return file;
  }
}
