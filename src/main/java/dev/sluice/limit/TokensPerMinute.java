package dev.sluice.limit;

/**
 * A backend's tokens-per-minute budget: the tokens reserved by requests sent in the last minute, against
 * {@code tpm}. A request reserves its estimated cost when it is sent, never more than {@code tpm} (so one large
 * request cannot wait forever), and settles to what it really used when its answer ends: the difference is given
 * back to, or charged on, the instant it was sent, so the window holds what the provider counted then.
 *
 * <p>A sliding window rather than a token bucket, because a provider counting the tokens of the trailing minute (as
 * the simulated one does, and OpenAI's limits behave) refuses what a bucket allows: a full bucket spent at once and
 * refilled over the minute lets twice the limit through in one minute. A window of {@value #SLOTS} slots of
 * {@value #SLOT_MILLIS} ms: a reservation leaves it between 60 and 60.1 s after it was made, never earlier. Tokens
 * charged beyond a reservation may take the window over {@code tpm}; requests then wait until enough has left.
 *
 * <p>Never reads a clock: methods take the caller's {@code nowNanos}. Thread-safe: every method holds this object's
 * monitor.
 */
public final class TokensPerMinute {
  static final int SLOT_MILLIS = 100;
  /** A minute of slots, and one more: what was reserved in a slot leaves only once a full minute has passed. */
  static final int SLOTS = 60_000 / SLOT_MILLIS + 1;
  private static final long SLOT_NANOS = SLOT_MILLIS * 1_000_000L;

  private volatile long tpm;
  private final long[] slots = new long[SLOTS];
  private long total;
  /** The newest slot the window has moved to; slots older than {@code SLOTS} before it are empty. */
  private long lastSlot = Long.MIN_VALUE;

  /** @param tpm tokens per minute, ≥ 1 */
  public TokensPerMinute(long tpm) {
    if (tpm < 1) {
      throw new IllegalArgumentException("tpm must be ≥ 1: " + tpm);
    }
    this.tpm = tpm;
  }

  /** What a request estimated at {@code tokens} reserves: at most {@code tpm}, at least 0. */
  public long costOf(long tokens) {
    return Math.max(0, Math.min(tokens, tpm));
  }

  /**
   * Nanoseconds from {@code nowNanos} until {@code cost} more tokens fit in the window (for a cost of 0: until the
   * window is no longer over {@code tpm}); 0 when they fit now.
   */
  public synchronized long nanosUntil(long cost, long nowNanos) {
    long now = slotOf(nowNanos);
    advance(now);
    long excess = total + cost - tpm;
    if (excess <= 0) {
      return 0;
    }
    long freed = 0;
    for (long slot = now - SLOTS + 1; slot <= now; slot++) {
      freed += slots[index(slot)];
      if (freed >= excess) {
        return Math.max(0, (slot + SLOTS) * SLOT_NANOS - nowNanos);
      }
    }
    return Math.max(0, (now + SLOTS) * SLOT_NANOS - nowNanos); // only what is still to be charged is left
  }

  /** Reserves {@code cost} tokens at {@code nowNanos}, or says when they will fit. */
  public synchronized Admission tryReserve(long cost, long nowNanos) {
    long wait = nanosUntil(cost, nowNanos);
    if (wait > 0) {
      return Admission.retryAt(nowNanos + wait);
    }
    add(slotOf(nowNanos), cost);
    return Admission.grantedAt(nowNanos);
  }

  /**
   * Settles a reservation of {@code reserved} tokens made at {@code reservedAtNanos} that used {@code used}: the
   * difference is given back to, or charged on, its instant while that is still in the window; an excess found
   * later is charged now. Returns whether tokens were given back.
   */
  public synchronized boolean settle(long reserved, long used, long reservedAtNanos, long nowNanos) {
    long now = slotOf(nowNanos);
    advance(now);
    long difference = used - reserved;
    long slot = slotOf(reservedAtNanos);
    boolean inWindow = slot > now - SLOTS && slot <= now;
    if (difference < 0 && inWindow) {
      long back = Math.min(-difference, slots[index(slot)]);
      slots[index(slot)] -= back;
      total -= back;
      return back > 0;
    }
    if (difference > 0) {
      add(inWindow ? slot : now, difference);
    }
    return false;
  }

  /** Tokens left in the window at {@code nowNanos}; negative while charged usage takes it over {@code tpm}. */
  public synchronized long available(long nowNanos) {
    advance(slotOf(nowNanos));
    return tpm - total;
  }

  /** Hot change of the limit; what the window holds stays. */
  public void setTpm(long newTpm) {
    if (newTpm < 1) {
      throw new IllegalArgumentException("tpm must be ≥ 1: " + newTpm);
    }
    tpm = newTpm;
  }

  public long tpm() {
    return tpm;
  }

  private void add(long slot, long tokens) {
    slots[index(slot)] += tokens;
    total += tokens;
  }

  /** Empties the slots that left the window by slot {@code now}. An instant older than one seen changes nothing. */
  private void advance(long now) {
    if (lastSlot == Long.MIN_VALUE) {
      lastSlot = now;
      return;
    }
    if (now <= lastSlot) {
      return;
    }
    long from = Math.max(lastSlot + 1, now - SLOTS + 1);
    for (long slot = from; slot <= now; slot++) {
      int i = index(slot);
      total -= slots[i];
      slots[i] = 0;
    }
    lastSlot = now;
  }

  private static long slotOf(long nanos) {
    return Math.floorDiv(nanos, SLOT_NANOS);
  }

  private static int index(long slot) {
    return (int) Math.floorMod(slot, (long) SLOTS);
  }
}
