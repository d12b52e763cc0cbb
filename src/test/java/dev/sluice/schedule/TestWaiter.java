package dev.sluice.schedule;

import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
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

  TestWaiter(String name, Priority priority, long arrivalNanos, long deadlineNanos, List<String> departures) {
    this.name = name;
    this.priority = priority;
    this.arrivalNanos = arrivalNanos;
    this.deadlineNanos = deadlineNanos;
    this.departures = departures;
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

  /** Times this waiter left the queue, either way. */
  int departures() {
    return permits.size() + rejections.size();
  }

  @Override
  public String toString() {
    return name;
  }
}
