package dev.sluice.schedule;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/** A waiter that records how it left the queue, appending its name to a shared log of departures. */
final class TestWaiter implements Waiter {
  private final String name;
  private final Priority priority;
  private final long arrivalNanos;
  private final long deadlineNanos;
  private final List<String> departures;
  final List<Permit> permits = new CopyOnWriteArrayList<>();
  final List<Rejection> rejections = new CopyOnWriteArrayList<>();
  /** Emergency upstreams it was sent to. */
  final List<URI> emergencies = new CopyOnWriteArrayList<>();
  /** The dispatchers it moved to. */
  final List<Dispatcher> moves = new CopyOnWriteArrayList<>();
  private long enteredPoolNanos;
  /** What it reserves of a tokens-per-minute budget; 0 unless a test sets it. */
  long estimatedTokens;
  private Optional<URI> inheritedEmergency = Optional.empty();

  TestWaiter(String name, Priority priority, long arrivalNanos, long deadlineNanos, List<String> departures) {
    this.name = name;
    this.priority = priority;
    this.arrivalNanos = arrivalNanos;
    this.deadlineNanos = deadlineNanos;
    this.departures = departures;
    this.enteredPoolNanos = arrivalNanos;
  }

  @Override
  public long enteredPoolNanos() {
    return enteredPoolNanos;
  }

  @Override
  public long estimatedTokens() {
    return estimatedTokens;
  }

  @Override
  public int attempts() {
    return permits.size();
  }

  @Override
  public boolean triedBackend(Backend backend) {
    return permits.stream().anyMatch(p -> p.backend() == backend);
  }

  @Override
  public void movedTo(Dispatcher fallback, Optional<URI> emergencyUpstream, long nowNanos) {
    moves.add(fallback);
    enteredPoolNanos = nowNanos;
    inheritedEmergency = inheritedEmergency.or(() -> emergencyUpstream);
    departures.add(name + "->" + fallback.pool());
  }

  @Override
  public Optional<URI> inheritedEmergencyUpstream() {
    return inheritedEmergency;
  }

  @Override
  public void sendToEmergency(URI upstream) {
    emergencies.add(upstream);
    departures.add(name + ":emergency");
  }

  @Override
  public Priority priority() {
    return priority;
  }

  @Override
  public long arrivalNanos() {
    return arrivalNanos;
  }

  @Override
  public long deadlineNanos() {
    return deadlineNanos;
  }

  @Override
  public void dispatch(Permit permit) {
    permits.add(permit);
    departures.add(name);
  }

  @Override
  public void reject(Rejection rejection) {
    rejections.add(rejection);
    departures.add(name + ":" + rejection.status());
  }

  boolean dispatched() {
    return !permits.isEmpty();
  }

  Optional<Rejection> rejection() {
    return rejections.stream().findFirst();
  }

  /** Times this waiter left a queue for good or for an upstream: dispatched, refused or sent to an emergency. */
  int departures() {
    return permits.size() + rejections.size() + emergencies.size();
  }

  @Override
  public String toString() {
    return name;
  }
}
