package dev.sluice.observe.dashboard;

import dev.sluice.limit.RetreatState;
import dev.sluice.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The dashboard's recent events: retreat cuts, alerts and recovery steps as the retreat controllers report them,
 * backends going out of service and coming back, cooldowns (coalesced per backend and second: one line, updated in
 * place, however many failures of that second), and rejections coalesced per second per pool by the snapshot
 * builder. Keeps the newest {@link #CAPACITY}.
 *
 * <p>Thread-safe: one lock guards the ring; events are rare (a rate change at most once per evaluation interval
 * per backend, one cooldown line per backend per second, one rejection line per pool per second), so the lock is
 * never contended on the request path.
 */
public final class EventLog {
  /** Events kept, newest first out when full. */
  static final int CAPACITY = 200;

  private final Clock clock;
  private final ArrayDeque<Event> events = new ArrayDeque<>();
  /** Per backend, its latest cooldown line and how many failures it stands for; guarded by {@code events}. */
  private final Map<String, CooldownLine> cooldownLines = new HashMap<>();
  private long nextSeq = 1;

  /** A cooldown line and the failures of its second it stands for. */
  private record CooldownLine(long seq, long second, int failures) {}

  public EventLog(Clock clock) {
    this.clock = clock;
  }

  /**
   * One event.
   *
   * @param seq increasing number, so the page can merge the events of frames and of a reload without repeats
   * @param wallMillis when it happened, milliseconds since the epoch
   * @param kind {@code cut}, {@code alert}, {@code recovery}, {@code cooldown}, {@code admin} or {@code rejected}
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

  /**
   * A backend's cooldown started or was extended after a failure, or an operator ended it. Failures of one backend
   * within one wall-clock second share one line, updated in place (same {@code seq}) to count them and show the
   * latest.
   *
   * @param ended whether an operator ended the cooldown (else a failure started or extended it)
   * @param summary what happened, for people, e.g. {@code upstream 429 (rpm), 2nd in a row: cooling 10 s}
   */
  public void cooldown(String pool, String backend, boolean ended, String summary) {
    long now = clock.wallTimeMillis();
    String key = pool + "/" + backend;
    synchronized (events) {
      if (ended) {
        // Later failures start a line of their own, after this one.
        cooldownLines.remove(key);
        addLocked(now, "admin", pool, backend, "backend " + backend + " cooldown " + summary);
        return;
      }
      CooldownLine line = cooldownLines.get(key);
      if (line != null && line.second() == now / 1000 && replace(line.seq(), "backend " + backend + ": "
          + (line.failures() + 1) + " failures this second, the last: " + summary)) {
        cooldownLines.put(key, new CooldownLine(line.seq(), line.second(), line.failures() + 1));
        return;
      }
      Event event = addLocked(now, "cooldown", pool, backend, "backend " + backend + ": " + summary);
      cooldownLines.put(key, new CooldownLine(event.seq(), now / 1000, 1));
    }
  }

  /** Gives the kept event {@code seq} a new text; false if it is no longer kept. Lock held. */
  private boolean replace(long seq, String text) {
    List<Event> newer = new ArrayList<>();
    boolean found = false;
    while (!events.isEmpty()) {
      Event event = events.removeLast();
      if (event.seq() == seq) {
        newer.add(new Event(seq, event.wallMillis(), event.kind(), event.pool(), event.backend(), text));
        found = true;
        break;
      }
      newer.add(event);
      if (event.seq() < seq) {
        break;
      }
    }
    newer.reversed().forEach(events::addLast);
    return found;
  }

  /** {@code count} requests of {@code pool} were answered {@code status} by Sluice for {@code reason} this second. */
  void rejected(String pool, long count, int status, String reason) {
    add("rejected", pool, "", count + (count == 1 ? " request" : " requests") + " answered " + status + " "
        + reason + " in pool " + pool);
  }

  private void add(String kind, String pool, String backend, String text) {
    long now = clock.wallTimeMillis();
    synchronized (events) {
      addLocked(now, kind, pool, backend, text);
    }
  }

  private Event addLocked(long now, String kind, String pool, String backend, String text) {
    if (events.size() == CAPACITY) {
      events.removeFirst();
    }
    Event event = new Event(nextSeq++, now, kind, pool, backend, text);
    events.addLast(event);
    return event;
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
