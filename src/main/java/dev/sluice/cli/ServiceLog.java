package dev.sluice.cli;

import dev.sluice.backend.Backend;
import dev.sluice.observe.dashboard.EventLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a backend going out of service (dead after its upstream refused its key, or disabled by an operator) as a
 * warning and its return at info, and puts both among the dashboard's recent events. Thread-safe: stateless apart
 * from the thread-safe event log.
 */
final class ServiceLog implements Backend.ServiceListener {
  private static final Logger LOG = LoggerFactory.getLogger("sluice.backend");
  private final EventLog events;

  ServiceLog(EventLog events) {
    this.events = events;
  }

  @Override
  public void onChange(Backend backend, boolean inService, String change) {
    events.serviceChange(backend.pool(), backend.id(), inService, change);
    (inService ? LOG.atInfo() : LOG.atWarn())
        .addKeyValue("pool", backend.pool())
        .addKeyValue("backend", backend.id())
        .log("backend " + change);
  }
}
