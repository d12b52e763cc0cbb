package dev.sluice.admin;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per changed setting on the {@code sluice.audit} logger: the key, old and new value and the caller's
 * address (the JSON log line carries the time). Values are settings, never a key or token. The shipped logback
 * configuration gives this logger its own level, INFO, so that the root log level (itself hot-reloadable) never
 * hides a change. Thread-safe.
 */
final class AuditLog {
  private static final Logger LOG = LoggerFactory.getLogger("sluice.audit");

  void changed(ConfigJson.Change change, String remoteAddress) {
    LOG.atInfo()
        .addKeyValue("key", change.key())
        .addKeyValue("old", change.oldValue())
        .addKeyValue("new", change.newValue())
        .addKeyValue("remote", remoteAddress)
        .log("admin changed {}: {} -> {}", change.key(), change.oldValue(), change.newValue());
  }
}
