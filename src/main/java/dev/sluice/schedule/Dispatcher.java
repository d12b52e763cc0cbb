package dev.sluice.schedule;

import dev.sluice.backend.Backend;
import dev.sluice.backend.OutOfService;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.config.FailoverConfig.Selection;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryBudget;
import dev.sluice.time.Clock;
import dev.sluice.time.Waits;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A pool's queue and dispatcher. Waiters queue by priority (strict between levels, FIFO within one) and leave
 * when one of the pool's backends grants a permit: asked in declaration order ({@code ordered}) or least loaded
 * first ({@code balanced}), never one the request already tried while an untried one is in service. A backend whose
 * cooldown ends within its precheck threshold is asked only when no other can serve. A waiter that waited
 * {@code spill_after} moves to the fallback pool, or, without one, to the emergency upstream; when no backend is in
 * service at all (all dead or disabled) waiters spill at once, or are answered 503. Dispatch is driven by
 * events, never by polling: it runs on arrival, on requeue, on a backend's capacity change, on a settings change,
 * and at the one pending wakeup, which is the earliest of the instant a backend can next serve (a token, the end of
 * a cooldown or an upstream's {@code Retry-After}), the next waiting deadline, the next spill and the {@code low}
 * head timeout; a freed concurrency slot or a backend back in service wakes it through the backend. Like Caffeine's
 * {@code Pacer}, there is at most one pending wakeup; an earlier instant replaces a later one. So an empty bucket and a deep queue wake the dispatcher once per refill, not once per waiter.
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

  /**
   * How the pool chooses among its backends and where waiters go when it cannot serve them.
   *
   * @param selection ordered or balanced
   * @param spillAfterNanos a waiter that waited this long moves on, if there is somewhere to move it
   * @param retryBudget the pool's allowance for retries
   * @param emergencyUpstream the unshaped last resort, if any
   */
  public record Failover(Selection selection, long spillAfterNanos, RetryBudget retryBudget,
      Optional<URI> emergencyUpstream) {}

  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final String pool;
  private final List<Backend> backends;
  private final Clock clock;
  private final Scheduler scheduler;
  private final Failover failover;
  /** Set once by the composition root, before traffic. */
  private volatile Dispatcher fallback;
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
  private long spilled;
  private long sentToEmergency;
  private long noBackend;

  public Dispatcher(String pool, List<Backend> backends, Settings settings, Failover failover, Clock clock,
      Scheduler scheduler) {
    if (backends.isEmpty()) {
      throw new IllegalArgumentException("pool " + pool + " has no backends");
    }
    this.pool = pool;
    this.backends = List.copyOf(backends);
    this.settings = settings;
    this.failover = failover;
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

  /** The pool whose queue takes the waiters this one cannot serve in time; set once, before traffic. */
  public void setFallback(Dispatcher fallback) {
    this.fallback = fallback;
  }

  /**
   * A waiter moved here from another pool's queue: it joins at its priority, keeping its deadline. If this queue is
   * full (or shutting down) it moves on at once, or is answered 503 when there is nowhere to go.
   */
  void adopt(Waiter waiter) {
    underLock((now, actions) -> {
      if (shuttingDown || queue.size() >= settings.queueMaxSize()) {
        if (!spill(waiter, now, actions)) {
          rejectedFull++;
          Rejection rejection = shuttingDown ? shuttingDownRejection(now) : rejection(503, "queue_full",
              "The queue of pool " + pool + ", the fallback of the pool this request was waiting in, is full ("
                  + settings.queueMaxSize() + " waiting); try again later.", queue.size(), now);
          actions.add(() -> waiter.reject(rejection));
        }
      } else {
        queue.putBack(waiter);
      }
      dispatch(now, actions);
    });
  }

  /** Whether a backend that {@code waiter} has not tried is in service (a failover has somewhere to go). */
  public boolean hasUntriedInService(Waiter waiter) {
    return backends.stream().anyMatch(b -> !waiter.triedBackend(b) && b.outOfService().isEmpty());
  }

  /**
   * Takes one retry from the pool's retry budget if it allows one now: a request that failed before its first
   * byte may go again only then.
   */
  public boolean tryRetry() {
    return failover.retryBudget().tryRetry(clock.nanoTime());
  }

  /**
   * A dispatched request whose upstream said 429 before the first byte: back to the front of its level, to go
   * again when a backend may serve, another than the one it tried if there is one. It was accepted once, so it is
   * not refused for a full queue.
   */
  public void requeue(Waiter waiter) {
    requeue(waiter, 0, false);
  }

  /**
   * A dispatched request whose upstream failed before the first byte: after {@code delayNanos} (0: now; meanwhile
   * it is in no queue) back to the front of its level ({@code ahead} false: a 429, which says the rate was too
   * high), or ahead of every level but {@code urgent} ({@code ahead} true: a 5xx, a refused key or connection, a
   * reset, a timeout; it was served once, and a backend's failure must not send it behind a long queue of more
   * urgent requests; the urgent ones keep their short wait).
   */
  public void requeue(Waiter waiter, long delayNanos, boolean ahead) {
    if (delayNanos > 0) {
      scheduler.schedule(() -> requeue(waiter, 0, ahead), delayNanos);
      return;
    }
    underLock((now, actions) -> {
      if (shuttingDown) {
        Rejection rejection = shuttingDownRejection(now);
        actions.add(() -> waiter.reject(rejection));
      } else {
        requeued++;
        if (ahead) {
          queue.putRetry(waiter);
        } else {
          queue.putBack(waiter);
        }
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
          timedOut, rejectedFull, evicted, passedThroughFull, refusedAtLimit, requeued, spilled, sentToEmergency,
          noBackend, failover.retryBudget().usage(clock.nanoTime()), backends.stream().map(Backend::snapshot).toList());
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

  /** Sends what can go now; moves on what waited too long; schedules the one wakeup for the rest. Lock held. */
  private void dispatch(long now, List<Runnable> actions) {
    expire(now, actions);
    while (!queue.isEmpty()) {
      Waiter next = queue.peek();
      if (next != head) {
        head = next;
        headSinceNanos = now;
      }
      long lowTimeout = settings.lowTimeoutNanos();
      // A retry is not held to the low timeout: it was served once already.
      boolean lowHead = next.priority() == Priority.LOW && !queue.headIsRetry();
      if (lowHead && now - headSinceNanos >= lowTimeout) {
        queue.poll();
        head = null;
        timedOut++;
        Rejection rejection = rejection(429, "rate_limited", "Waited " + TimeUnit.NANOSECONDS.toSeconds(lowTimeout)
            + " s at the head of the queue of pool " + pool + " without a free slot (low priority).",
            queue.aheadOfLevel(Priority.LOW), now);
        actions.add(() -> next.reject(rejection));
        continue;
      }
      Backend.Grant grant = choose(next, now);
      if (grant instanceof Backend.Granted granted) {
        queue.poll();
        head = null;
        send(next, granted, now, actions);
        continue;
      }
      if (grant instanceof Backend.Out) {
        noBackendInService(now, actions);
        return;
      }
      // The head waits. A head that waits for a backend it has not tried yet leaves the ones it tried to others;
      // and whatever waited spill_after here moves on.
      if (next.attempts() > 0 && serveBehind(next, now, actions) || spillOverdue(now, actions)) {
        continue;
      }
      long wakeAt = Math.min(((Backend.Wait) grant).retryAtNanos(), queue.earliestFrontDeadline());
      if (lowHead) {
        wakeAt = Math.min(wakeAt, headSinceNanos + lowTimeout);
      }
      long spillable = queue.earliestFrontEntry(this::mayMoveOn);
      if (spillable != Long.MAX_VALUE) {
        wakeAt = Math.min(wakeAt, spillable + failover.spillAfterNanos());
      }
      scheduleWake(Math.max(wakeAt, now + 1), now);
      return;
    }
    emptied.signalAll();
  }

  private void send(Waiter waiter, Backend.Granted granted, long now, List<Runnable> actions) {
    dispatched++;
    if (waiter.attempts() == 0) {
      failover.retryBudget().onFirstAttempt(now);
    }
    actions.add(() -> waiter.dispatch(granted.permit()));
  }

  /**
   * Sends the first waiter behind {@code head} that a backend can take now, if any: past waiters that, like the
   * head, wait for backends they have not tried, up to the first that has tried none (if that one cannot go, nobody
   * behind it can). Returns whether one went. Lock held.
   */
  private boolean serveBehind(Waiter head, long now, List<Runnable> actions) {
    for (Waiter waiter : queue.inOrder()) {
      if (waiter == head) {
        continue;
      }
      if (choose(waiter, now) instanceof Backend.Granted granted) {
        queue.remove(waiter);
        send(waiter, granted, now, actions);
        return true;
      }
      if (waiter.attempts() == 0) {
        return false;
      }
    }
    return false;
  }

  /**
   * The backend to send {@code waiter} to now, or the earliest instant one might take it, or {@link Backend.Out}
   * when none is in service. Backends the waiter tried are asked only when every untried one is out of service;
   * a backend whose cooldown ends within its precheck threshold only when no other can serve. Lock held.
   */
  private Backend.Grant choose(Waiter waiter, long now) {
    List<Backend> order = failover.selection() == Selection.BALANCED ? byLoad(now) : backends;
    Backend.Grant grant = ask(order, waiter, false, now, false);
    if (grant instanceof Backend.Out && waiter.attempts() > 0) {
      grant = ask(order, waiter, true, now, false);
    }
    if (grant instanceof Backend.Wait) {
      // Nobody can serve now: a backend near the end of its cooldown may (and the wake is set by this pass).
      Backend.Grant lastResort = ask(order, waiter, waiter.attempts() > 0 && !hasUntriedInService(waiter), now, true);
      return lastResort instanceof Backend.Out ? grant : lastResort;
    }
    return grant;
  }

  /** Asks the untried backends (or the tried ones), in order; the first grant wins. Lock held. */
  private Backend.Grant ask(List<Backend> order, Waiter waiter, boolean tried, long now, boolean lastResort) {
    long retryAt = Long.MAX_VALUE;
    boolean anyInService = false;
    for (Backend backend : order) {
      if (waiter.attempts() > 0 && waiter.triedBackend(backend) != tried) {
        continue;
      }
      Backend.Grant grant = backend.tryAcquire(now, waiter.estimatedTokens(), lastResort);
      if (grant instanceof Backend.Granted) {
        return grant;
      }
      if (grant instanceof Backend.Wait wait) {
        anyInService = true;
        retryAt = Math.min(retryAt, wait.retryAtNanos());
      }
    }
    return anyInService ? new Backend.Wait(retryAt) : Backend.Out.INSTANCE;
  }

  /** The backends, least loaded first; each load read once, as releases change them meanwhile. */
  private List<Backend> byLoad(long now) {
    double[] loads = new double[backends.size()];
    Integer[] order = new Integer[loads.length];
    for (int i = 0; i < loads.length; i++) {
      loads[i] = backends.get(i).load(now);
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingDouble(i -> loads[i]));
    List<Backend> sorted = new ArrayList<>(order.length);
    for (Integer i : order) {
      sorted.add(backends.get(i));
    }
    return sorted;
  }

  /** Every backend is out of service: waiters spill at once, or are answered 503. Lock held. */
  private void noBackendInService(long now, List<Runnable> actions) {
    head = null;
    List<Waiter> all = new ArrayList<>(queue.size());
    queue.drainTo(all::add);
    String why = backends.stream().map(b -> b.id() + " " + b.outOfService().map(OutOfService::describe)
        .orElse("in service")).reduce((a, b) -> a + "; " + b).orElse("");
    for (Waiter waiter : all) {
      if (!spill(waiter, now, actions)) {
        noBackend++;
        Rejection rejection = rejection(503, "no_backend_available", "No backend of pool " + pool
            + " is in service (" + why + "); try again later.", 0, NANOS_PER_SECOND * 5, now);
        actions.add(() -> waiter.reject(rejection));
      }
    }
    emptied.signalAll();
  }

  /** Whether there is somewhere to move {@code waiter} when this pool cannot serve it in time. */
  private boolean mayMoveOn(Waiter waiter) {
    return fallback != null || failover.emergencyUpstream().isPresent()
        || waiter.inheritedEmergencyUpstream().isPresent();
  }

  /**
   * Waiters at the front of their level that waited {@code spill_after} here move on; returns whether any did.
   * Lock held.
   */
  private boolean spillOverdue(long now, List<Runnable> actions) {
    long limit = now - failover.spillAfterNanos();
    int before = queue.size();
    queue.expireFronts(waiter -> waiter.enteredPoolNanos() <= limit && mayMoveOn(waiter), waiter -> {
          if (waiter == head) {
            head = null;
          }
          spill(waiter, now, actions);
        });
    return queue.size() < before;
  }

  /**
   * Moves {@code waiter} to the fallback pool, else to the emergency upstream (this pool's, else one it inherited);
   * false when there is neither. Lock held; the move itself runs after it is released.
   */
  private boolean spill(Waiter waiter, long now, List<Runnable> actions) {
    Dispatcher next = fallback;
    if (next != null) {
      spilled++;
      actions.add(() -> {
        waiter.movedTo(next, failover.emergencyUpstream(), clock.nanoTime());
        next.adopt(waiter);
      });
      return true;
    }
    Optional<URI> emergency = failover.emergencyUpstream().or(waiter::inheritedEmergencyUpstream);
    if (emergency.isEmpty()) {
      return false;
    }
    sentToEmergency++;
    actions.add(() -> waiter.sendToEmergency(emergency.get()));
    return true;
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
   * combined refill rate, or of the combined tokens-per-minute when every backend has one and their tokens take
   * longer, plus the wait for the next token). Lock held.
   */
  private Rejection rejection(int status, String code, String message, int ahead, long now) {
    return rejection(status, code, message, ahead, -1, now);
  }

  /** As above; a non-negative {@code waitNanos} replaces the computed wait. Lock held. */
  private Rejection rejection(int status, String code, String message, int ahead, long waitNanos, long now) {
    long rateRpm = 0;
    long tokens = 0;
    long nextToken = Long.MAX_VALUE;
    long tpm = 0;
    long largestTpm = 0;
    boolean everyTpm = true;
    for (Backend backend : backends) {
      rateRpm += backend.rateRpm();
      tokens += backend.availableTokens(now);
      nextToken = Math.min(nextToken, backend.nanosUntilServable(now, 0));
      tpm += backend.tpm();
      largestTpm = Math.max(largestTpm, backend.tpm());
      everyTpm &= backend.tpm() > 0;
    }
    long wait = waitNanos;
    if (wait < 0) {
      double share = ahead * 60.0 * NANOS_PER_SECOND / Math.max(1, rateRpm);
      if (everyTpm) {
        share = Math.max(share, queue.tokensOfFirst(ahead, largestTpm) * 60.0 * NANOS_PER_SECOND / tpm);
      }
      wait = Waits.saturatedAdd((long) Math.ceil(Math.min(share, Long.MAX_VALUE / 2.0)), nextToken);
    }
    return new Rejection(status, code, message, rateRpm, Math.max(0, tokens - queue.size()), wait);
  }

  /**
   * The pool's state for a refusal decided outside the queue (the upstream client has no room for the request),
   * with {@code waitNanos} as the wait: what the headers of such an answer tell the caller.
   */
  public Rejection refusal(int status, String code, String message, long waitNanos) {
    lock.lock();
    try {
      return rejection(status, code, message, 0, waitNanos, clock.nanoTime());
    } finally {
      lock.unlock();
    }
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
