package dev.sluice.backend;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Permission to send one request to one backend, granted by {@link Backend#tryAcquire}. Carries the retreat epoch
 * current when it was granted, so the outcome is judged against the rate the request was sent at. Released
 * exactly once with the attempt's result; a second release throws. Thread-safe.
 */
public final class Permit {
  private final Backend backend;
  private final long epoch;
  private final AtomicBoolean released = new AtomicBoolean();

  Permit(Backend backend, long epoch) {
    this.backend = backend;
    this.epoch = epoch;
  }

  public Backend backend() {
    return backend;
  }

  long epoch() {
    return epoch;
  }

  /** Feeds {@code attempt} to the backend's limiters. */
  public void release(Attempt attempt) {
    if (!released.compareAndSet(false, true)) {
      throw new IllegalStateException("permit of backend " + backend.id() + " released twice");
    }
    backend.onRelease(this, attempt);
  }

  public boolean isReleased() {
    return released.get();
  }

  @Override
  public String toString() {
    return "Permit[backend=" + backend.id() + ", epoch=" + epoch + ", released=" + released.get() + "]";
  }
}
