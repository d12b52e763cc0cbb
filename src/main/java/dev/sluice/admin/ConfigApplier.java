package dev.sluice.admin;

import dev.sluice.config.SluiceConfig;
import dev.sluice.schedule.QueueBelowDepthException;

/**
 * Puts a new configuration into effect in the running components (queues, buckets, retreat, timeouts, log level).
 * Implemented by the composition root, which knows them all; called by {@link LiveConfig}, one change at a time.
 */
public interface ConfigApplier {

  /**
   * Changes the running components from {@code from} to {@code to}, which differ only in hot-reloadable settings.
   *
   * @throws QueueBelowDepthException if a queue cannot shrink to its new size now; then nothing has changed
   */
  void apply(SluiceConfig from, SluiceConfig to);
}
