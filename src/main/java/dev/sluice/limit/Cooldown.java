package dev.sluice.limit;

import dev.sluice.time.Waits;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * A backend's rest after failures: the n-th consecutive failure (an upstream 429, a 5xx, a connect failure, a
 * reset or a first-byte timeout) cools it for {@code base × 2^(n-1)} ({@code base × n} when not exponential),
 * capped at {@code max}; a longer upstream {@code Retry-After} wins. A later failure may extend a cooldown, never
 * shorten it; a success resets the count (not a cooldown in progress). Each cooldown started or extended is an
 * {@link Event} in a bounded log of the last {@value #EVENTS_KEPT}, and is told to the listener given at
 * construction (status pages show it among their recent events).
 *
 * <p>Never reads a clock: methods take the caller's {@code nowNanos}, and {@code wallMillis} (wall time, ms since
 * the epoch) to stamp events. Thread-safe: every method holds this object's monitor; the listener runs under it, so
 * it must be quick and must not call back into this cooldown.
 */
public final class Cooldown {
  /** Events kept per backend, the newest last. */
  public static final int EVENTS_KEPT = 50;

  /**
   * @param base the first cooldown; positive
   * @param max the longest cooldown; at least {@code base}
   * @param exponential doubling ({@code true}) or linear growth
   * @param precheck a backend whose cooldown ends within this is used only when no other backend can serve
   */
  public record Policy(Duration base, Duration max, boolean exponential, Duration precheck) {
    public Policy {
      if (base.isNegative() || base.isZero() || max.compareTo(base) < 0 || precheck.isNegative()) {
        throw new IllegalArgumentException("cooldown needs 0 < base <= max and precheck >= 0: " + base + ", " + max
            + ", " + precheck);
      }
    }
  }

  /**
   * One cooldown started or extended.
   *
   * @param startMillis wall time it started (or was extended), ms since the epoch
   * @param endMillis wall time it ends, ms since the epoch
   * @param count the consecutive failure that caused it, from 1; 0 when an operator ended the cooldown
   * @param seconds its length from {@code startMillis}
   * @param summary what caused it, for people
   */
  public record Event(long startMillis, long endMillis, int count, double seconds, String summary) {}

  /**
   * A cooldown at one instant.
   *
   * @param remainingNanos until it ends; 0 when not cooling
   * @param consecutive failures since the last success
   * @param last the last event, if any
   * @param started cooldowns started since construction (a failure while not cooling); extensions not counted
   */
  public record Snapshot(long remainingNanos, int consecutive, Optional<Event> last, long started) {
    public boolean cooling() {
      return remainingNanos > 0;
    }
  }

  private static final long NANOS_PER_MILLI = 1_000_000L;

  private final Consumer<Event> listener;
  private Policy policy;
  private int consecutive;
  /** When the last failure that counted was seen; requests sent before it failed in the same burst. */
  private long lastCountedNanos = Long.MIN_VALUE;
  private long started;
  private long endNanos = Long.MIN_VALUE;
  private final ArrayDeque<Event> events = new ArrayDeque<>();

  public Cooldown(Policy policy) {
    this(policy, event -> { });
  }

  /** @param listener told of every event as it is recorded, under this object's monitor */
  public Cooldown(Policy policy, Consumer<Event> listener) {
    this.policy = policy;
    this.listener = listener;
  }

  /**
   * A failure at {@code nowNanos}: counts it and cools the backend, at least for {@code retryAfterNanos} (0 when
   * the upstream sent none). A request sent before the last counted failure was seen failed in the same burst (they
   * were in flight together): it may extend the cooldown but does not count again, so eight requests refused at
   * once cool the backend as one failure, not as the eighth in a row. Returns the instant the cooldown ends.
   *
   * @param sentNanos when the failed request was sent
   * @param cause what failed, for the event's summary, e.g. {@code "upstream 429"}
   */
  public synchronized long onFailure(long nowNanos, long sentNanos, long wallMillis, long retryAfterNanos,
      String cause) {
    if (sentNanos >= lastCountedNanos) {
      consecutive++;
      lastCountedNanos = nowNanos;
    }
    long own = length(Math.max(1, consecutive));
    long length = Math.max(own, retryAfterNanos);
    long end = Waits.saturatedAdd(nowNanos, length);
    boolean extends_ = end > endNanos;
    String why = cause + (consecutive > 1 ? ", " + ordinal(consecutive) + " in a row" : "")
        + (retryAfterNanos > own ? "; the upstream's Retry-After (" + seconds(retryAfterNanos) + " s) is longer" : "");
    if (!extends_) {
      record(nowNanos, wallMillis, endNanos, why + "; the cooldown in progress already lasts longer");
      return endNanos;
    }
    if (nowNanos >= endNanos) {
      started++;
    }
    endNanos = end;
    record(nowNanos, wallMillis, end, why + ": cooling " + seconds(length) + " s");
    return endNanos;
  }

  /** A success: the next failure starts from the base again. A cooldown in progress keeps running. */
  public synchronized void onSuccess() {
    consecutive = 0;
  }

  /** Whether the backend rests at {@code nowNanos}. */
  public synchronized boolean cooling(long nowNanos) {
    return nowNanos < endNanos;
  }

  /** The instant the cooldown ends; in the past (or {@code Long.MIN_VALUE}) when not cooling. */
  public synchronized long endNanos() {
    return endNanos;
  }

  /** Whether the cooldown ends within the precheck threshold from {@code nowNanos} (and is still running). */
  public synchronized boolean endsWithinPrecheck(long nowNanos) {
    return nowNanos < endNanos && endNanos - nowNanos <= policy.precheck().toNanos();
  }

  /** Ends a cooldown now and forgets the count (an operator's decision); recorded as an event. */
  public synchronized void clear(long nowNanos, long wallMillis, String who) {
    boolean wasCooling = nowNanos < endNanos;
    endNanos = Long.MIN_VALUE;
    consecutive = 0;
    if (wasCooling) {
      record(nowNanos, wallMillis, nowNanos, "ended early by " + who);
    }
  }

  /**
   * Takes up a saved count and a cooldown that was in progress when the process stopped (a restart), ending at
   * {@code endNanos} on this process's ticker ({@code Long.MIN_VALUE} or a past instant when it had ended).
   */
  public synchronized void restore(int consecutive, long endNanos) {
    this.consecutive = Math.max(0, consecutive);
    this.endNanos = endNanos;
  }

  public synchronized Policy policy() {
    return policy;
  }

  public synchronized Snapshot snapshot(long nowNanos) {
    return new Snapshot(nowNanos < endNanos ? endNanos - nowNanos : 0, consecutive,
        Optional.ofNullable(events.peekLast()), started);
  }

  /** The recorded events, oldest first. */
  public synchronized List<Event> events() {
    return List.copyOf(events);
  }

  /** The cooldown the n-th consecutive failure earns by itself, capped. */
  private long length(int n) {
    long base = policy.base().toNanos();
    long max = policy.max().toNanos();
    if (policy.exponential()) {
      int shift = n - 1;
      return shift >= 62 || base > (max >> shift) ? max : Math.min(max, base << shift);
    }
    return base > max / n ? max : Math.min(max, base * n);
  }

  private void record(long nowNanos, long nowMillis, long endNanos, String summary) {
    long lengthNanos = Math.max(0, endNanos - nowNanos);
    if (events.size() == EVENTS_KEPT) {
      events.removeFirst();
    }
    Event event = new Event(nowMillis, nowMillis + lengthNanos / NANOS_PER_MILLI, consecutive, lengthNanos / 1e9,
        summary);
    events.addLast(event);
    listener.accept(event);
  }

  private static String seconds(long nanos) {
    double s = nanos / 1e9;
    return s == Math.rint(s) ? Long.toString((long) s) : String.format(java.util.Locale.ROOT, "%.1f", s);
  }

  private static String ordinal(int n) {
    int mod100 = n % 100;
    String suffix = mod100 >= 11 && mod100 <= 13 ? "th"
        : switch (n % 10) {
          case 1 -> "st";
          case 2 -> "nd";
          case 3 -> "rd";
          default -> "th";
        };
    return n + suffix;
  }
}
