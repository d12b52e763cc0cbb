package dev.sluice.admin;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.config.ConfigException;
import dev.sluice.config.ConfigPatch;
import dev.sluice.config.SluiceConfig;
import dev.sluice.schedule.QueueBelowDepthException;
import java.util.List;

/**
 * The configuration in force: the one place that knows it. Starts as the configuration Sluice was started with;
 * each accepted change replaces it whole, after its {@link ConfigApplier} has put it into effect.
 *
 * <p>A change is all or nothing: the whole document is validated first ({@link ConfigPatch}; a bad value is a
 * 400 naming its path), then applied; a queue that cannot shrink to its new size because more requests are
 * waiting refuses the change (409, nothing applied). Each changed setting gets one audit line.
 *
 * <p>Thread-safe: changes are serialized on this object's monitor, so two callers cannot interleave theirs;
 * {@link #current()} is a volatile read.
 */
public final class LiveConfig {
  private final ConfigApplier applier;
  private final AuditLog audit = new AuditLog();
  private volatile SluiceConfig current;

  public LiveConfig(SluiceConfig initial, ConfigApplier applier) {
    this.current = initial;
    this.applier = applier;
  }

  public SluiceConfig current() {
    return current;
  }

  /** What one accepted change did: the settings that changed, and the configuration now in force. */
  record Outcome(List<ConfigJson.Change> changes, SluiceConfig config) {}

  /**
   * Lays {@code document} over the configuration in force and applies the result.
   *
   * @param remoteAddress who asked, for the audit log
   * @throws AdminException 400 {@code invalid_config} or 409 {@code queue_below_depth}, with the path as param
   */
  synchronized Outcome change(JsonNode document, String remoteAddress) {
    SluiceConfig from = current;
    ConfigPatch.Result patched;
    try {
      patched = ConfigPatch.apply(document, from);
    } catch (ConfigException e) {
      throw new AdminException(400, "invalid_config", e.getMessage(), e.key().isEmpty() ? null : e.key());
    }
    SluiceConfig to = patched.config();
    List<ConfigJson.Change> changes = ConfigJson.changes(from, to);
    if (changes.isEmpty()) {
      return new Outcome(changes, from);
    }
    try {
      applier.apply(from, to);
    } catch (QueueBelowDepthException e) {
      String key = patched.queueSizeKeys().getOrDefault(e.pool(), "queue_max_size");
      throw new AdminException(409, "queue_below_depth", key + ": " + e.requestedSize() + " is below the "
          + e.depth() + " requests waiting in pool " + e.pool(), key);
    }
    current = to;
    changes.forEach(change -> audit.changed(change, remoteAddress));
    return new Outcome(changes, to);
  }
}
