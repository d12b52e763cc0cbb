package dev.sluice.time;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** A clock that moves only when a test says so. Thread-safe. */
public final class ManualClock implements Clock {
  private static final long WALL_ORIGIN_MILLIS = 1_767_225_600_000L; // 2026-01-01T00:00:00Z
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public long wallTimeMillis() {
    return WALL_ORIGIN_MILLIS + nanos.get() / 1_000_000L;
  }

  /** Moves time forward by {@code duration}. */
  public void advance(Duration duration) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("duration cannot be negative: " + duration);
    }
    nanos.addAndGet(duration.toNanos());
  }
}
