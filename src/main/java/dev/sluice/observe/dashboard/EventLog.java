package dev.sluice.observe.dashboard;

import dev.sluice.limit.RetreatState;
import dev.sluice.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * The dashboard's recent events: retreat cuts, alerts and recovery steps as the retreat controllers report them,
 * and rejections coalesced per second per pool by the snapshot builder. Keeps the newest {@link #CAPACITY}.
 *
 * <p>Thread-safe: one lock guards the ring; events are rare (a rate change at most once per evaluation interval
 * per backend, one rejection line per pool per second), so the lock is never contended on the request path.
 */
public final class EventLog {
  /** Events kept, newest first out when full. */
  static final int CAPACITY = 200;

  private final Clock clock;
  private final ArrayDeque<Event> events = new ArrayDeque<>();
  private long nextSeq = 1;

  public EventLog(Clock clock) {
    this.clock = clock;
  }

  /**
   * One event.
   *
   * @param seq increasing number, so the page can merge the events of frames and of a reload without repeats
   * @param wallMillis when it happened, milliseconds since the epoch
   * @param kind {@code cut}, {@code alert}, {@code recovery}, {@code admin} or {@code rejected}
   * @param pool the pool, or empty when not known
   * @param backend the backend, or empty for a pool's event
   */
  record Event(long seq, long wallMillis, String kind, String pool, String backend, String text) {}

  /** A backend's retreat controller changed its rate; see {@code RetreatController.Listener}. */
  public void retreatChange(String pool, String backend, RetreatState state, int fromRpm, int toRpm, double ratio,
      boolean alert, boolean atFloor) {
    String kind = alert ? "alert" : toRpm < fromRpm ? "cut" : "recovery";
    String text = String.format(Locale.ROOT, "backend %s %s %d → %d rpm (upstream 429 share %.1f %%), now %s%s",
        backend, toRpm < fromRpm ? "cut" : "raised", fromRpm, toRpm, ratio * 100, state.name(),
        atFloor ? ", at the floor" : "");
    add(kind, pool, backend, text);
  }

  /** An operator changed a backend's rate through the admin API (its configured rate, or the retreat settings). */
  public void adminRateChange(String pool, String backend, int fromRpm, int toRpm) {
    add("admin", pool, backend, String.format(Locale.ROOT, "backend %s rate set by the admin API %d → %d rpm",
        backend, fromRpm, toRpm));
  }

  /** A backend went out of service (dead or disabled) or came back; {@code change} says which, for people. */
  public void serviceChange(String pool, String backend, boolean inService, String change) {
    add(inService ? "recovery" : "alert", pool, backend, "backend " + backend + " " + change);
  }

  /** {@code count} requests of {@code pool} were answered {@code status} by Sluice for {@code reason} this second. */
  void rejected(String pool, long count, int status, String reason) {
    add("rejected", pool, "", count + (count == 1 ? " request" : " requests") + " answered " + status + " "
        + reason + " in pool " + pool);
  }

  private void add(String kind, String pool, String backend, String text) {
    long now = clock.wallTimeMillis();
    synchronized (events) {
      if (events.size() == CAPACITY) {
        events.removeFirst();
      }
      events.addLast(new Event(nextSeq++, now, kind, pool, backend, text));
    }
  }

  /** Up to {@code limit} events newer than {@code sinceWallMillis}, oldest first. */
  List<Event> since(long sinceWallMillis, int limit) {
    List<Event> newestFirst = new ArrayList<>();
    synchronized (events) {
      for (Iterator<Event> it = events.descendingIterator(); it.hasNext() && newestFirst.size() < limit; ) {
        Event event = it.next();
        if (event.wallMillis() <= sinceWallMillis) {
          break;
        }
        newestFirst.add(event);
      }
    }
    return newestFirst.reversed();
  }

  /** The last {@code limit} rate-cutting events of {@code backend}, oldest first. */
  List<Event> cutsOf(String backend, int limit) {
    List<Event> newestFirst = new ArrayList<>();
    synchronized (events) {
      for (Iterator<Event> it = events.descendingIterator(); it.hasNext() && newestFirst.size() < limit; ) {
        Event event = it.next();
        if (event.backend().equals(backend) && (event.kind().equals("cut") || event.kind().equals("alert"))) {
          newestFirst.add(event);
        }
      }
    }
    return newestFirst.reversed();
  }
}
