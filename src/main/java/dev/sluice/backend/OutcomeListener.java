package dev.sluice.backend;

/** Learns from finished requests. Called once per request, on the thread that finished it; must not block. */
@FunctionalInterface
public interface OutcomeListener {
  void onOutcome(Outcome outcome);
}
