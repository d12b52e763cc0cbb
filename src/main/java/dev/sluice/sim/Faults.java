package dev.sluice.sim;

import java.util.SplittableRandom;

/**
 * The fault dice: for every accepted call, three draws (error, reset, stall) from a generator seeded with
 * {@link SimConfig#seed()}, so the same seed and the same order of calls give the same faults. An error wins over
 * a reset, a reset over a stall; stalls only apply to streams. Thread-safe: guarded by {@code this}.
 */
final class Faults {
  /** What happens to one call. */
  enum Fault { NONE, ERROR, RESET, STALL }

  private long seed;
  private SplittableRandom random;

  Faults(long seed) {
    this.seed = seed;
    this.random = new SplittableRandom(seed);
  }

  synchronized Fault draw(SimConfig config, boolean stream) {
    if (config.seed() != seed) {
      seed = config.seed();
      random = new SplittableRandom(seed);
    }
    boolean error = random.nextDouble() < config.errorRate();
    boolean reset = random.nextDouble() < config.resetRate();
    boolean stall = random.nextDouble() < config.stallRate();
    if (error) {
      return Fault.ERROR;
    }
    if (reset) {
      return Fault.RESET;
    }
    return stall && stream ? Fault.STALL : Fault.NONE;
  }
}
