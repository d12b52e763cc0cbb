package dev.sluice.sim;

import java.util.SplittableRandom;

/**
 * The dice of admitted calls: for every accepted call, three draws (error, reset, stall) and, when
 * {@link SimConfig#ttftJitterMillis()} is above 0, one more for the jitter added to its time to first token, all from
 * a generator seeded with {@link SimConfig#seed()}, so the same seed and the same order of calls give the same faults
 * and the same delays. An error wins over a reset, a reset over a stall; stalls only apply to streams. A call that
 * forces its stall ({@code X-Sim-Fault: stall} or {@code stall-first-byte}) draws no fault, only its jitter. With no jitter configured no draw
 * is made for it, so the faults a seed gives are those it gave before jitter existed. Thread-safe: guarded by
 * {@code this}; one call's draws are made under one lock, never interleaved with another call's.
 */
final class Faults {
  /** What happens to one call. */
  enum Fault {
    NONE, ERROR, RESET,
    /** Silent half-way through the answer. */
    STALL,
    /** Silent before the headers; never drawn, only forced. */
    STALL_FIRST_BYTE
  }

  /**
   * One call's draws.
   *
   * @param fault what happens to the call
   * @param ttftJitterMillis milliseconds added to its time to first token, 0..{@link SimConfig#ttftJitterMillis()}
   */
  record Draw(Fault fault, long ttftJitterMillis) {}

  private long seed;
  private SplittableRandom random;

  Faults(long seed) {
    this.seed = seed;
    this.random = new SplittableRandom(seed);
  }

  /**
   * Draws one admitted call's fault (unless {@code forced}, a stall the call asks for, which it gets without a draw)
   * and then its jitter, uniform in {@code 0..config.ttftJitterMillis()} both ends included.
   */
  synchronized Draw draw(SimConfig config, boolean stream, Fault forced) {
    if (config.seed() != seed) {
      seed = config.seed();
      random = new SplittableRandom(seed);
    }
    Fault fault = forced != null ? forced : fault(config, stream);
    long jitter = config.ttftJitterMillis() > 0 ? random.nextLong(config.ttftJitterMillis() + 1) : 0;
    return new Draw(fault, jitter);
  }

  private Fault fault(SimConfig config, boolean stream) {
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
