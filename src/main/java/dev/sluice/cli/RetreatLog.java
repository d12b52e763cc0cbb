package dev.sluice.cli;

import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatState;
import dev.sluice.observe.dashboard.EventLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a backend's rate changes and puts them among the dashboard's recent events: retreat cuts and floors as
 * warnings, recovery steps at info, and a rate an operator set through the admin API at info as its own kind of
 * event, so that it never reads as a retreat cut. Thread-safe: stateless apart from the thread-safe event log.
 */
final class RetreatLog implements RetreatController.Listener {
  private static final Logger LOG = LoggerFactory.getLogger("sluice.retreat");
  private final String pool;
  private final String backendId;
  private final EventLog events;

  RetreatLog(String pool, String backendId, EventLog events) {
    this.pool = pool;
    this.backendId = backendId;
    this.events = events;
  }

  @Override
  public void onRateChange(RetreatController.Cause cause, RetreatState state, int fromRpm, int toRpm, double ratio,
      boolean alert, boolean atFloor) {
    if (cause == RetreatController.Cause.OPERATOR) {
      events.adminRateChange(pool, backendId, fromRpm, toRpm);
      LOG.atInfo()
          .addKeyValue("backend", backendId)
          .addKeyValue("state", state.name())
          .addKeyValue("from_rpm", fromRpm)
          .addKeyValue("to_rpm", toRpm)
          .log("rate set by the admin API");
      return;
    }
    if (cause == RetreatController.Cause.RESTORED || cause == RetreatController.Cause.PROVIDER) {
      LOG.atInfo()
          .addKeyValue("backend", backendId)
          .addKeyValue("state", state.name())
          .addKeyValue("from_rpm", fromRpm)
          .addKeyValue("to_rpm", toRpm)
          .log(cause == RetreatController.Cause.RESTORED ? "retreat in force before the restart taken up again"
              : "rate raised to the provider's x-ratelimit-limit-requests");
      return;
    }
    events.retreatChange(pool, backendId, state, fromRpm, toRpm, ratio, alert, atFloor);
    var line = (toRpm < fromRpm ? LOG.atWarn() : LOG.atInfo())
        .addKeyValue("backend", backendId)
        .addKeyValue("state", state.name())
        .addKeyValue("from_rpm", fromRpm)
        .addKeyValue("to_rpm", toRpm)
        .addKeyValue("ratio_429", Math.round(ratio * 10_000) / 10_000.0);
    if (alert) {
      line = line.addKeyValue("alert", true);
    }
    if (atFloor) {
      line = line.addKeyValue("at_floor", true);
    }
    line.log(alert ? "retreat alert: upstream answered 429 to more than the alert share"
        : atFloor ? "retreat reached the floor rate" : toRpm < fromRpm ? "retreat cut the rate" : "retreat rate change");
  }
}
