package dev.sluice.time;

/** The JVM's clocks. Stateless. */
enum SystemClock implements Clock {
  INSTANCE;

  @Override
  public long nanoTime() {
    return System.nanoTime();
  }

  @Override
  public long wallTimeMillis() {
    return System.currentTimeMillis();
  }

  @Override
  public String toString() {
    return "SystemClock";
  }
}
