package dev.sluice.limit;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NavigableSet;
import java.util.TreeSet;

/**
 * Tokens used over a sliding window of whole wall-clock minutes, kept as one count per minute: at any instant the
 * window holds the current minute and the {@code minutes - 1} before it, so usage leaves it exactly when its minute
 * does (a 5-hour window forgets 10:00:30's tokens at 15:00:00). Wall time, not a ticker, because the counts outlive
 * the process: saved each second and restored after a restart.
 *
 * <p>Never reads a clock: methods take {@code wallMillis} (ms since the epoch). Usage reported with an older instant
 * than the newest minute seen counts in the newest minute (an answer's usage counts when it is known). Thread-safe:
 * every method holds this object's monitor.
 */
public final class TokenWindow {
  private static final long MILLIS_PER_MINUTE = 60_000L;

  /**
   * Tokens of one minute.
   *
   * @param minute minutes since the epoch
   * @param tokens tokens counted in it
   */
  public record Minute(long minute, long tokens) {}

  private final int minutes;
  /** Minutes with usage, oldest first; none is older than the window as of the last call. */
  private final ArrayDeque<long[]> counts = new ArrayDeque<>();
  private long total;
  /** Minutes whose counts changed since {@link #drainChanged}, oldest first. */
  private final NavigableSet<Long> changed = new TreeSet<>();

  /** @param minutes window length in minutes, ≥ 1 */
  public TokenWindow(int minutes) {
    if (minutes < 1) {
      throw new IllegalArgumentException("window must be ≥ 1 minute: " + minutes);
    }
    this.minutes = minutes;
  }

  /** Counts {@code tokens} (≥ 0) at {@code wallMillis}. */
  public synchronized void add(long wallMillis, long tokens) {
    if (tokens <= 0) {
      return;
    }
    long minute = Math.floorDiv(wallMillis, MILLIS_PER_MINUTE);
    slide(minute);
    long[] last = counts.peekLast();
    if (last != null && last[0] >= minute) {
      last[1] += tokens;
      minute = last[0];
    } else {
      counts.addLast(new long[] {minute, tokens});
    }
    total += tokens;
    changed.add(minute);
  }

  /** Tokens in the window at {@code wallMillis}. */
  public synchronized long total(long wallMillis) {
    slide(Math.floorDiv(wallMillis, MILLIS_PER_MINUTE));
    return total;
  }

  /**
   * The first instant (wall ms) from which the window holds less than {@code tokens}, as far as the usage counted
   * so far goes; {@code wallMillis} itself when it already does.
   */
  public synchronized long belowAt(long wallMillis, long tokens) {
    slide(Math.floorDiv(wallMillis, MILLIS_PER_MINUTE));
    long left = total;
    if (left < tokens) {
      return wallMillis;
    }
    for (long[] count : counts) {
      left -= count[1];
      if (left < tokens) {
        return (count[0] + minutes) * MILLIS_PER_MINUTE;
      }
    }
    return wallMillis; // unreachable: the loop empties the window
  }

  /** Forgets all usage. */
  public synchronized void clear() {
    for (long[] count : counts) {
      changed.add(count[0]);
    }
    counts.clear();
    total = 0;
  }

  /** The counts of the minutes in the window at {@code wallMillis}, oldest first. */
  public synchronized List<Minute> minutes(long wallMillis) {
    slide(Math.floorDiv(wallMillis, MILLIS_PER_MINUTE));
    List<Minute> result = new ArrayList<>(counts.size());
    for (long[] count : counts) {
      result.add(new Minute(count[0], count[1]));
    }
    return result;
  }

  /**
   * The counts of the minutes that changed since the last call, oldest first, as they stand now (0 for a minute
   * that was cleared or slid out): what a store must write to agree with this window.
   */
  public synchronized List<Minute> drainChanged() {
    List<Minute> result = new ArrayList<>(changed.size());
    for (long minute : changed) {
      result.add(new Minute(minute, countOf(minute)));
    }
    changed.clear();
    return result;
  }

  /** Replaces the counts with saved ones (a restart); minutes outside the window at {@code wallMillis} are dropped. */
  public synchronized void restore(List<Minute> saved, long wallMillis) {
    counts.clear();
    total = 0;
    saved.stream().filter(m -> m.tokens() > 0).sorted((a, b) -> Long.compare(a.minute(), b.minute()))
        .forEach(m -> {
          long[] last = counts.peekLast();
          if (last != null && last[0] == m.minute()) {
            last[1] += m.tokens();
          } else {
            counts.addLast(new long[] {m.minute(), m.tokens()});
          }
          total += m.tokens();
        });
    slide(Math.floorDiv(wallMillis, MILLIS_PER_MINUTE));
  }

  /** Window length in minutes. */
  public int minutesLong() {
    return minutes;
  }

  private long countOf(long minute) {
    for (long[] count : counts) {
      if (count[0] == minute) {
        return count[1];
      }
    }
    return 0;
  }

  /** Drops minutes that left the window by {@code minute}. Lock held. */
  private void slide(long minute) {
    long oldestKept = minute - minutes + 1;
    // A minute out of the window need not be written: the store prunes it. Without a store nothing drains these.
    changed.headSet(oldestKept).clear();
    for (Iterator<long[]> it = counts.iterator(); it.hasNext(); ) {
      long[] count = it.next();
      if (count[0] >= oldestKept) {
        return;
      }
      total -= count[1];
      it.remove();
    }
  }
}
