package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.Clock;

/**
 * The {@link SimConfig} in force, and the {@link Limits} that follow it. Thread-safe: the config is a volatile
 * immutable record, read without a lock; changes are serialized by {@code this}, so the limits and the config
 * always change together.
 */
final class LiveConfig {
  private final Limits limits;
  private final Clock clock;
  private volatile SimConfig config;

  LiveConfig(SimConfig config, Limits limits, Clock clock) {
    this.config = config;
    this.limits = limits;
    this.clock = clock;
  }

  SimConfig current() {
    return config;
  }

  synchronized void update(SimConfig next) {
    limits.update(next, clock.nanoTime());
    config = next;
  }

  /** Applies a {@code POST /sim/config} patch atomically; throws {@link IllegalArgumentException} if invalid. */
  synchronized SimConfig patch(JsonNode patch) {
    SimConfig next = SimJson.patch(config, patch);
    update(next);
    return next;
  }
}
