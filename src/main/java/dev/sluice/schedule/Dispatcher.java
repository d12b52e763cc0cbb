package dev.sluice.schedule;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.config.FullPolicy;
import dev.sluice.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A pool's queue and dispatcher. Waiters queue by priority (strict between levels, FIFO within one) and leave
 * when one of the pool's backends, asked in order, grants a permit. Dispatch is driven by events, never by
 * polling: it runs on arrival, on requeue, on a backend's capacity change, on a settings change, and at the one
 * pending wakeup, which is the earliest of the instant a backend can next serve, the next waiting deadline and the
 * {@code low} head
 * timeout. Like Caffeine's {@code Pacer}, there is at most one pending wakeup; an earlier instant replaces a later
 * one. So an empty bucket and a deep queue wake the dispatcher once per refill, not once per waiter.
 *
 * <p>Every waiter that enters leaves exactly once per stay: dispatched, or rejected (429 after waiting too long,
 * or at once when the queue is full and every backend is at its upstream limit under {@code passthrough}; 503 when
 * the queue is full, evicted or shutting down), with a {@code Retry-After} computed from its position and the
 * backends' refill rates.
 *
 * <p>Thread-safe: the queue and counters are guarded by one lock, held only for queue bookkeeping and limiter
 * calls; waiters are dispatched or rejected after the lock is released, so no I/O ever runs under it.
 */
public final class Dispatcher implements PoolView {

  /**
   * @param queueMaxSize waiters at most; 1..1000000
   * @param fullPolicy what a full queue does with a newcomer
   * @param lowTimeoutNanos how long a {@code low} waiter may stay at the head of the queue
   */
  public record Settings(int queueMaxSize, FullPolicy fullPolicy, long lowTimeoutNanos) {}

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final String pool;
  private final List<Backend> backends;
  private final Clock clock;
  private final Scheduler scheduler;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition emptied = lock.newCondition();
  private final WaitQueue queue = new WaitQueue();
  private volatile Settings settings;
  private Waiter head;
  private long headSinceNanos;
  private long pendingWakeNanos = Long.MAX_VALUE;
  private Scheduler.Task pendingWake;
  private boolean shuttingDown;
  private long dispatched;
  private long timedOut;
  private long rejectedFull;
  private long evicted;
  private long passedThroughFull;
  private long refusedAtLimit;
  private long requeued;

  public Dispatcher(String pool, List<Backend> backends, Settings settings, Clock clock, Scheduler scheduler) {
    if (backends.isEmpty()) {
      throw new IllegalArgumentException("pool " + pool + " has no backends");
    }
    this.pool = pool;
    this.backends = List.copyOf(backends);
    this.settings = settings;
    this.clock = clock;
    this.scheduler = scheduler;
    for (Backend backend : this.backends) {
      backend.onCapacityChange(this::wake);
    }
  }

  /** A new request: queue it (or apply the full policy) and dispatch what can go. */
  public void submit(Waiter waiter) {
    underLock((now, actions) -> {
      if (shuttingDown) {
        Rejection rejection = shuttingDownRejection(now);
        actions.add(() -> waiter.reject(rejection));
      } else if (queue.size() >= settings.queueMaxSize()) {
        onFull(waiter, now, actions);
      } else {
        queue.addLast(waiter);
      }
      dispatch(now, actions);
    });
  }

  /**
   * A dispatched request whose upstream said 429 before the first byte: back to the front of its level, to go
   * again when a backend may serve. It was accepted once, so it is not refused for a full queue.
   */
  public void requeue(Waiter waiter) {
    underLock((now, actions) -> {
      if (shuttingDown) {
        Rejection rejection = shuttingDownRejection(now);
        actions.add(() -> waiter.reject(rejection));
      } else {
        requeued++;
        queue.putBack(waiter);
      }
      dispatch(now, actions);
    });
  }

  /**
   * Takes a waiter whose caller left out of the queue. Returns false if it is not there (already dispatched,
   * refused, or never queued); the caller then answers for it as usual.
   */
  public boolean withdraw(Waiter waiter) {
    List<Runnable> actions = new ArrayList<>(2);
    boolean removed;
    lock.lock();
    try {
      removed = queue.remove(waiter);
      if (removed) {
        dispatch(clock.nanoTime(), actions); // a new head, or an empty queue for a draining shutdown
      }
    } finally {
      lock.unlock();
    }
    actions.forEach(Runnable::run);
    return removed;
  }

  /** Something changed that may let a waiter go sooner: dispatch now. */
  public void wake() {
    underLock(this::dispatch);
  }

  /** One step of queue bookkeeping under the lock, collecting what to tell waiters once it is released. */
  private interface LockedStep {
    void run(long nowNanos, List<Runnable> actions);
  }

  private void underLock(LockedStep step) {
    List<Runnable> actions = new ArrayList<>(2);
    lock.lock();
    try {
      step.run(clock.nanoTime(), actions);
    } finally {
      lock.unlock();
    }
    actions.forEach(Runnable::run);
  }

  /**
   * Hot change of the queue's settings, decided under the lock that arrivals take, so the depth it checks is the
   * depth it applies to. Waiters already queued stay, with their deadlines; dispatch runs again at once, so a
   * shorter {@code low} timeout may answer the head now. A larger size admits more newcomers; a smaller one
   * applies to newcomers only, and is refused while more are waiting than it allows. (Requests put back after an
   * upstream 429 may leave more waiting than the size; a change that does not shrink the queue still applies.)
   *
   * @throws QueueBelowDepthException if the queue would shrink below the current depth; nothing changes
   */
  public void updateSettings(Settings newSettings) {
    underLock((now, actions) -> {
      int newSize = newSettings.queueMaxSize();
      if (newSize < settings.queueMaxSize() && newSize < queue.size()) {
        throw new QueueBelowDepthException(pool, newSettings.queueMaxSize(), queue.size());
      }
      settings = newSettings;
      dispatch(now, actions);
    });
  }

  public Settings settings() {
    return settings;
  }

  /**
   * Stops taking requests (newcomers get 503), lets the queue drain for up to {@code drain}, then answers every
   * waiter still queued with 503. Returns how many were refused that way.
   */
  public int shutdown(Duration drain) throws InterruptedException {
    List<Waiter> left = new ArrayList<>();
    Rejection rejection;
    lock.lock();
    try {
      shuttingDown = true;
      long remaining = drain.toNanos();
      while (!queue.isEmpty() && remaining > 0) {
        remaining = emptied.awaitNanos(remaining);
      }
      queue.drainTo(left::add);
      head = null;
      if (pendingWake != null) {
        pendingWake.cancel();
        pendingWake = null;
      }
      rejection = shuttingDownRejection(clock.nanoTime());
    } finally {
      lock.unlock();
    }
    left.forEach(waiter -> waiter.reject(rejection));
    return left.size();
  }

  @Override
  public PoolSnapshot snapshot() {
    lock.lock();
    try {
      Map<Priority, Integer> depth = new EnumMap<>(Priority.class);
      for (Priority priority : Priority.values()) {
        depth.put(priority, queue.depth(priority));
      }
      return new PoolSnapshot(pool, queue.size(), settings.queueMaxSize(), settings.fullPolicy(), depth, dispatched,
          timedOut, rejectedFull, evicted, passedThroughFull, refusedAtLimit, requeued,
          backends.stream().map(Backend::snapshot).toList());
    } finally {
      lock.unlock();
    }
  }

  public String pool() {
    return pool;
  }

  private void onFull(Waiter waiter, long now, List<Runnable> actions) {
    switch (settings.fullPolicy()) {
      case PASSTHROUGH -> {
        Backend open = backends.stream().filter(b -> b.acceptsUnshaped(now)).findFirst().orElse(null);
        if (open == null) {
          refusedAtLimit++;
          Rejection rejection = rejection(429, "rate_limited", "The queue of pool " + pool + " is full ("
              + settings.queueMaxSize() + " waiting) and its upstream is at its limit; try again later.",
              queue.size(), now);
          actions.add(() -> waiter.reject(rejection));
          return;
        }
        passedThroughFull++;
        Permit permit = open.unshapedPermit(now);
        actions.add(() -> waiter.dispatch(permit));
      }
      case REJECT -> {
        rejectedFull++;
        Rejection rejection = rejection(503, "queue_full", "The queue of pool " + pool + " is full ("
            + settings.queueMaxSize() + " waiting); try again later.", queue.size(), now);
        actions.add(() -> waiter.reject(rejection));
      }
      case DROP_LOWEST -> {
        Priority lowest = queue.lowestWaitingLevel();
        if (waiter.priority().ordinal() >= lowest.ordinal()) {
          rejectedFull++;
          Rejection rejection = rejection(503, "queue_full", "The queue of pool " + pool
              + " is full of requests at least as urgent as this one; try again later.", queue.size(), now);
          actions.add(() -> waiter.reject(rejection));
          return;
        }
        Waiter evictee = queue.pollNewest(lowest);
        evicted++;
        if (evictee == head) {
          head = null;
        }
        Rejection rejection = rejection(503, "evicted", "A more urgent request took this one's place in the"
            + " full queue of pool " + pool + "; try again later.", queue.size(), now);
        actions.add(() -> evictee.reject(rejection));
        queue.addLast(waiter);
      }
    }
  }

  /** Sends what can go now; schedules the one wakeup for what cannot. Lock held. */
  private void dispatch(long now, List<Runnable> actions) {
    expire(now, actions);
    while (!queue.isEmpty()) {
      Waiter next = queue.peek();
      if (next != head) {
        head = next;
        headSinceNanos = now;
      }
      long lowTimeout = settings.lowTimeoutNanos();
      if (next.priority() == Priority.LOW && now - headSinceNanos >= lowTimeout) {
        queue.poll();
        head = null;
        timedOut++;
        Rejection rejection = rejection(429, "rate_limited", "Waited " + TimeUnit.NANOSECONDS.toSeconds(lowTimeout)
            + " s at the head of the queue of pool " + pool + " without a free slot (low priority).",
            queue.aheadOfLevel(Priority.LOW), now);
        actions.add(() -> next.reject(rejection));
        continue;
      }
      Backend.Grant grant = firstGrant(now);
      if (grant instanceof Backend.Granted granted) {
        queue.poll();
        head = null;
        dispatched++;
        actions.add(() -> next.dispatch(granted.permit()));
        continue;
      }
      long wakeAt = Math.min(((Backend.Wait) grant).retryAtNanos(), queue.earliestFrontDeadline());
      if (next.priority() == Priority.LOW) {
        wakeAt = Math.min(wakeAt, headSinceNanos + lowTimeout);
      }
      scheduleWake(Math.max(wakeAt, now + 1), now);
      return;
    }
    emptied.signalAll();
  }

  /** The first backend, in order, that grants a permit now; else the earliest instant any of them might. */
  private Backend.Grant firstGrant(long now) {
    long retryAt = Long.MAX_VALUE;
    for (Backend backend : backends) {
      Backend.Grant grant = backend.tryAcquire(now);
      if (grant instanceof Backend.Granted) {
        return grant;
      }
      retryAt = Math.min(retryAt, ((Backend.Wait) grant).retryAtNanos());
    }
    return new Backend.Wait(retryAt);
  }

  /** Waiters past their deadline leave with 429. Lock held. */
  private void expire(long now, List<Runnable> actions) {
    queue.expireFronts(waiter -> waiter.deadlineNanos() <= now, waiter -> {
      if (waiter == head) {
        head = null;
      }
      timedOut++;
      Rejection rejection = rejection(429, "rate_limited", "Waited "
          + TimeUnit.NANOSECONDS.toSeconds(now - waiter.arrivalNanos()) + " s in the queue of pool " + pool
          + " without a free slot.", queue.aheadOfLevel(waiter.priority()), now);
      actions.add(() -> waiter.reject(rejection));
    });
  }

  /** Pacer-style: keep one pending wakeup, replaced only by an earlier one. Lock held. */
  private void scheduleWake(long atNanos, long now) {
    if (pendingWake != null && pendingWakeNanos <= atNanos) {
      return;
    }
    if (pendingWake != null) {
      pendingWake.cancel();
    }
    pendingWakeNanos = atNanos;
    pendingWake = scheduler.schedule(() -> onWake(atNanos), atNanos - now);
  }

  private void onWake(long atNanos) {
    underLock((now, actions) -> {
      if (pendingWakeNanos == atNanos) {
        pendingWake = null;
        pendingWakeNanos = Long.MAX_VALUE;
      }
      dispatch(now, actions);
    });
  }

  /**
   * A refusal for a request behind {@code ahead} others, with the pool's state: its combined rate in force, what it
   * could send at once beyond the waiters, and the wait until this request could be served (their share of the
   * combined refill rate, plus the wait for the next token). Lock held.
   */
  private Rejection rejection(int status, String code, String message, int ahead, long now) {
    return rejection(status, code, message, ahead, -1, now);
  }

  /** As above; a non-negative {@code waitNanos} replaces the computed wait. Lock held. */
  private Rejection rejection(int status, String code, String message, int ahead, long waitNanos, long now) {
    long rateRpm = 0;
    long tokens = 0;
    long nextToken = Long.MAX_VALUE;
    for (Backend backend : backends) {
      rateRpm += backend.rateRpm();
      tokens += backend.availableTokens(now);
      nextToken = Math.min(nextToken, backend.nanosToNextToken(now));
    }
    long wait = waitNanos >= 0 ? waitNanos
        : (long) Math.ceil(ahead * 60.0 * NANOS_PER_SECOND / Math.max(1, rateRpm)) + nextToken;
    return new Rejection(status, code, message, rateRpm, Math.max(0, tokens - queue.size()), wait);
  }

  /** Another instance, or this one restarted, is the place to retry: in a second. Lock held. */
  private Rejection shuttingDownRejection(long now) {
    return rejection(503, "shutting_down", "Sluice is shutting down; try again shortly.", 0, NANOS_PER_SECOND, now);
  }

  @Override
  public String toString() {
    return "Dispatcher[pool=" + pool + ", " + snapshot().size() + " waiting]";
  }
}
