package dev.sluice.observe.dashboard;

import dev.sluice.schedule.Scheduler;
import dev.sluice.time.Clock;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dashboard's one snapshot a second, shared by every watcher. While at least one stream client is connected, a
 * task on the injected {@link Scheduler} builds one snapshot per second, keeps its chart point in a
 * {@link #HISTORY_POINTS}-point history and offers the same frame bytes to every client; a client still writing
 * its previous frame skips this one. With no client, nothing is built and no task is scheduled. The scheduler should
 * be the dashboard's own: a build takes a while with many backends, and must not delay the dispatchers' wakeups.
 *
 * <p>Thread-safe: {@code this} guards the builder, the history, the latest snapshot and whether a tick is
 * scheduled; clients join and leave through a concurrent set. The tick never blocks: writes complete through
 * callbacks. {@link #current()} builds, when the latest snapshot is stale, under the same lock on the caller's
 * thread (a Jetty thread); a tick due meanwhile waits for it.
 */
final class Feed {
  /** Seconds of chart points kept for a page's first load. */
  static final int HISTORY_POINTS = 300;
  static final long TICK_NANOS = 1_000_000_000L;
  /** A snapshot this young answers {@code GET /api/dashboard} without a new build. */
  static final long FRESH_NANOS = 1_500_000_000L;
  /** Events a page's first load receives. */
  static final int FIRST_LOAD_EVENTS = 50;

  private final Clock clock;
  private final Scheduler scheduler;
  private final SnapshotBuilder builder;
  private final Set<StreamClient> clients = ConcurrentHashMap.newKeySet();
  private final ArrayDeque<byte[]> history = new ArrayDeque<>();
  private SnapshotBuilder.Snapshot latest;
  private boolean ticking;
  private long builds;
  /** The field definitions the previous frame carried or assumed; a frame carries them only when they change. */
  private byte[] framedFields;
  private boolean stopped;

  Feed(Clock clock, Scheduler scheduler, SnapshotBuilder builder) {
    this.clock = clock;
    this.scheduler = scheduler;
    this.builder = builder;
  }

  /**
   * Adds a stream client; the first one starts the ticks. A client that has already ended (its caller went away
   * before it joined) is not kept: its departure may have been told before it was added.
   */
  void join(StreamClient client) {
    clients.add(client);
    synchronized (this) {
      if (stopped || !client.open()) {
        client.close();
        clients.remove(client);
        return;
      }
      if (!ticking) {
        ticking = true;
        scheduler.schedule(this::tick, TICK_NANOS);
      }
    }
  }

  void leave(StreamClient client) {
    clients.remove(client);
  }

  private void tick() {
    byte[] frame;
    synchronized (this) {
      clients.removeIf(client -> !client.open());
      if (clients.isEmpty() || stopped) {
        ticking = false;
        return;
      }
      SnapshotBuilder.Snapshot snapshot = buildLocked();
      boolean fieldsChanged = !Arrays.equals(snapshot.fields(), framedFields);
      framedFields = snapshot.fields();
      frame = frame(snapshot, fieldsChanged);
      scheduler.schedule(this::tick, TICK_NANOS);
    }
    for (StreamClient client : clients) {
      client.offer(ByteBuffer.wrap(frame));
    }
  }

  private SnapshotBuilder.Snapshot buildLocked() {
    SnapshotBuilder.Snapshot snapshot = builder.build();
    builds++;
    latest = snapshot;
    if (history.size() == HISTORY_POINTS) {
      history.removeFirst();
    }
    history.addLast(snapshot.point());
    return snapshot;
  }

  /**
   * {@code data: {"point":…,"fields":…,"state":…}} and the blank line that ends an SSE event; {@code fields} (the
   * backend fields' labels and units) only when {@code withFields}.
   */
  static byte[] frame(SnapshotBuilder.Snapshot snapshot, boolean withFields) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(snapshot.point().length + snapshot.state().length
        + (withFields ? snapshot.fields().length : 0) + 40);
    out.writeBytes(ascii("data: {\"point\":"));
    out.writeBytes(snapshot.point());
    if (withFields) {
      out.writeBytes(ascii(",\"fields\":"));
      out.writeBytes(snapshot.fields());
    }
    out.writeBytes(ascii(",\"state\":"));
    out.writeBytes(snapshot.state());
    out.writeBytes(ascii("}\n\n"));
    return out.toByteArray();
  }

  /**
   * The answer of {@code GET /api/dashboard}: {@code {"history":[points…],"fields":[…],"state":{…},"events":[…]}}
   * ({@code fields}: the backend fields' labels and units, which stream frames carry only when they change), from
   * the latest snapshot when it is fresh, else from one built now on the calling thread, holding this feed's lock
   * (so that the traffic counts are drained by one build at a time).
   */
  synchronized byte[] current() {
    if (latest == null || clock.nanoTime() - latest.nanos() > FRESH_NANOS) {
      buildLocked();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(history.size() * 256 + latest.state().length
        + latest.fields().length + 64);
    out.writeBytes(ascii("{\"history\":["));
    boolean first = true;
    for (byte[] point : history) {
      if (!first) {
        out.write(',');
      }
      out.writeBytes(point);
      first = false;
    }
    out.writeBytes(ascii("],\"fields\":"));
    out.writeBytes(latest.fields());
    out.writeBytes(ascii(",\"state\":"));
    out.writeBytes(latest.state());
    out.writeBytes(ascii(",\"events\":"));
    out.writeBytes(builder.recentEvents(FIRST_LOAD_EVENTS));
    out.writeBytes(ascii("}"));
    return out.toByteArray();
  }

  /** Ends every stream and builds no more; for shutdown. */
  void stop() {
    synchronized (this) {
      stopped = true;
    }
    for (StreamClient client : clients) {
      client.close();
    }
    clients.clear();
  }

  /** Snapshots built since start. */
  synchronized long builds() {
    return builds;
  }

  int clients() {
    return clients.size();
  }

  /** Clients whose previous frame is still on its way, so that the next tick skips them. */
  int writesPending() {
    return (int) clients.stream().filter(StreamClient::writing).count();
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}
