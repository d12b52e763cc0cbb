package dev.sluice.backend;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Permission to send one request to one backend, granted by {@link Backend#tryAcquire} (shaped: within the rate)
 * or {@link Backend#unshapedPermit} (beyond it, for queue-full passthrough). Carries the retreat epoch current
 * when it was granted, so the outcome is judged against the rate the request was sent at, and what was in flight
 * then and the concurrency limit, so a 429 can be told apart as one about concurrency and judged against the limit
 * it was sent under; the tokens it reserved of a tokens-per-minute budget, to settle on its usage; and whether it is
 * the quota guard's probe. Released exactly once with the attempt's result; a second release throws. Thread-safe.
 */
public final class Permit {
  private final Backend backend;
  private final long epoch;
  private final boolean unshaped;
  private final long grantedNanos;
  private final int inFlightAtSend;
  private final int concurrencyLimitAtSend;
  private final long reservedTokens;
  /** The quota guard's probe: the instant of the probe before it (to give back if this one gets no answer). */
  private final long previousProbeMillis;
  private final AtomicBoolean released = new AtomicBoolean();

  /** @param previousProbeMillis {@link #NOT_A_PROBE} unless the permit is the quota guard's probe */
  Permit(Backend backend, long epoch, boolean unshaped, long grantedNanos, int inFlightAtSend,
      int concurrencyLimitAtSend, long reservedTokens, long previousProbeMillis) {
    this.backend = backend;
    this.epoch = epoch;
    this.unshaped = unshaped;
    this.grantedNanos = grantedNanos;
    this.inFlightAtSend = inFlightAtSend;
    this.concurrencyLimitAtSend = concurrencyLimitAtSend;
    this.reservedTokens = reservedTokens;
    this.previousProbeMillis = previousProbeMillis;
  }

  static final long NOT_A_PROBE = Long.MIN_VALUE;

  public Backend backend() {
    return backend;
  }

  /**
   * Whether this request goes beyond the backend's rate (queue-full passthrough): its 429 is relayed to the
   * caller, never put back in the queue it skipped, and judges no rate.
   */
  public boolean unshaped() {
    return unshaped;
  }

  long epoch() {
    return epoch;
  }

  long grantedNanos() {
    return grantedNanos;
  }

  int inFlightAtSend() {
    return inFlightAtSend;
  }

  int concurrencyLimitAtSend() {
    return concurrencyLimitAtSend;
  }

  /**
   * Tokens the request was expected to use, as the backend counted them: what it reserved of the backend's
   * tokens-per-minute budget when there is one (capped at its capacity); 0 for a request beyond the rate.
   */
  public long reservedTokens() {
    return reservedTokens;
  }

  /** Whether this request is the quota guard's probe of an exceeded backend. */
  public boolean probe() {
    return previousProbeMillis != NOT_A_PROBE;
  }

  long previousProbeMillis() {
    return previousProbeMillis;
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
    return "Permit[backend=" + backend.id() + ", epoch=" + epoch + (unshaped ? ", unshaped" : "")
        + (probe() ? ", probe" : "") + ", released="
        + released.get() + "]";
  }
}
