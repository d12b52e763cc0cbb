package dev.sluice.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.config.FailoverConfig.Selection;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryBudget;
import dev.sluice.backend.TestBackends;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.Clock;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression test: retreat cuts and recoveries change bucket rates and wake the dispatcher from the threads that
 * release permits, while other threads submit and requeue. None of that may deadlock, lose a waiter or answer one
 * twice, and every count the dispatcher and the backends keep must match what the waiters saw.
 */
class DispatcherConcurrencyTest {
  private static final int THREADS = 8;
  private static final int PER_THREAD = 400;
  private static final int REQUESTS = THREADS * PER_THREAD;
  private static final int MAX_ATTEMPTS = 3;

  private final Clock clock = Clock.system();
  private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
  private final ExecutorService upstream = Executors.newFixedThreadPool(4);
  private final ExecutorService callers = Executors.newFixedThreadPool(THREADS);
  /** Failures on the upstream threads (a second release, say), which the executor would otherwise swallow. */
  private final Queue<Throwable> upstreamFailures = new ConcurrentLinkedQueue<>();
  /** The rate each backend's retreat controller last announced, in the order it announced them. */
  private final Map<String, Integer> announcedRpm = new ConcurrentHashMap<>();
  private final AtomicLong rateChanges = new AtomicLong();

  @AfterEach
  void stop() {
    callers.shutdownNow();
    upstream.shutdownNow();
    timer.shutdownNow();
  }

  /** Judges every rate after one answer, so retreat and recovery change rates constantly. */
  private RetreatPolicy twitchy() {
    return new RetreatPolicy(true, Duration.ofSeconds(1), 0.05, 0.10, 0.20, 0.02, Duration.ofMillis(5), 200, 1,
        Duration.ofMillis(1), 500, Duration.ofMillis(1));
  }

  private Backend backend(String id, BucketStore store) {
    return TestBackends.of(id, "pool", new TokenBucket(store, id, 60_000, 20),
        new RetreatController(twitchy(), 60_000, clock.nanoTime(), (cause, state, from, to, ratio, alert, atFloor) -> {
          // Called under the controller's lock: the last value stored is the controller's current rate.
          announcedRpm.put(id, to);
          rateChanges.incrementAndGet();
        }),
        clock);
  }

  /**
   * A request that goes upstream, where 30 % of attempts are refused with a rate 429 (no requests remain) and
   * retried up to 3 attempts.
   */
  private final class Request implements Waiter {
    private final Priority priority;
    private final long arrival = clock.nanoTime();
    private final long deadline = arrival + Duration.ofSeconds(2).toNanos();
    private final Dispatcher dispatcher;
    private final Random random;
    private final CountDownLatch allAnswered;
    private final List<Permit> permits = new ArrayList<>();
    final AtomicInteger departures = new AtomicInteger();
    final AtomicInteger requeues = new AtomicInteger();
    final AtomicInteger rejections = new AtomicInteger();
    /** Final answers to the caller: the upstream's last answer, or the dispatcher's refusal. Must end at 1. */
    final AtomicInteger answers = new AtomicInteger();

    Request(Priority priority, Dispatcher dispatcher, Random random, CountDownLatch allAnswered) {
      this.priority = priority;
      this.dispatcher = dispatcher;
      this.random = random;
      this.allAnswered = allAnswered;
    }

    @Override
    public Priority priority() {
      return priority;
    }

    @Override
    public long arrivalNanos() {
      return arrival;
    }

    @Override
    public long deadlineNanos() {
      return deadline;
    }

    @Override
    public long enteredPoolNanos() {
      return arrival;
    }

    @Override
    public long estimatedTokens() {
      return 0;
    }

    @Override
    public int attempts() {
      synchronized (permits) {
        return permits.size();
      }
    }

    @Override
    public boolean triedBackend(Backend backend) {
      synchronized (permits) {
        return permits.stream().anyMatch(p -> p.backend() == backend);
      }
    }

    @Override
    public void movedTo(Dispatcher fallback, Optional<URI> emergencyUpstream, long nowNanos) {
      throw new AssertionError("this pool has no fallback");
    }

    @Override
    public Optional<URI> inheritedEmergencyUpstream() {
      return Optional.empty();
    }

    @Override
    public void sendToEmergency(URI upstream) {
      throw new AssertionError("this pool has no emergency upstream");
    }

    @Override
    public void dispatch(Permit permit) {
      departures.incrementAndGet();
      boolean rateLimited;
      synchronized (random) {
        rateLimited = random.nextInt(100) < 30;
      }
      int attempt;
      synchronized (permits) {
        permits.add(permit);
        attempt = permits.size();
      }
      upstream.execute(() -> {
        try {
          permit.release(new Attempt(rateLimited ? 429 : 200, 0, rateLimited ? 0 : Attempt.ABSENT, Attempt.ABSENT));
          if (rateLimited && attempt < MAX_ATTEMPTS) {
            requeues.incrementAndGet();
            dispatcher.requeue(this);
          } else {
            answer();
          }
        } catch (Throwable t) {
          upstreamFailures.add(t);
        }
      });
    }

    @Override
    public void reject(Rejection rejection) {
      departures.incrementAndGet();
      rejections.incrementAndGet();
      answer();
    }

    private void answer() {
      answers.incrementAndGet();
      allAnswered.countDown();
    }

    int dispatches() {
      synchronized (permits) {
        return permits.size();
      }
    }

    boolean everyPermitReleased() {
      synchronized (permits) {
        return permits.stream().allMatch(Permit::isReleased);
      }
    }
  }

  @Test
  void retreatAndRecoveryCannotDeadlockLoseOrDoubleAnswerUnderConcurrentArrivals() throws Exception {
    timer.setRemoveOnCancelPolicy(true);
    BucketStore store = BucketStore.inMemory();
    List<Backend> backends = List.of(backend("a", store), backend("b", store));
    Dispatcher dispatcher = new Dispatcher("pool", backends,
        new Dispatcher.Settings(REQUESTS, FullPolicy.DROP_LOWEST, Duration.ofMillis(200).toNanos()),
        new Dispatcher.Failover(Selection.ORDERED, Long.MAX_VALUE, new RetryBudget(20, 60, clock.nanoTime()),
            Optional.empty()), clock, Scheduler.of(timer));
    CountDownLatch allAnswered = new CountDownLatch(REQUESTS);
    Queue<Request> requests = new ConcurrentLinkedQueue<>();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<Future<?>> submitted = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Random random = new Random(42 + t);
      submitted.add(callers.submit(() -> {
        start.await(10, TimeUnit.SECONDS);
        for (int i = 0; i < PER_THREAD; i++) {
          Priority priority;
          synchronized (random) {
            priority = Priority.values()[random.nextInt(4)];
          }
          Request request = new Request(priority, dispatcher, random, allAnswered);
          requests.add(request);
          dispatcher.submit(request);
        }
        return null;
      }));
    }
    for (Future<?> caller : submitted) {
      caller.get(30, TimeUnit.SECONDS);
    }

    assertThat(allAnswered.await(30, TimeUnit.SECONDS))
        .as("every request answered; %d still open, snapshot %s", allAnswered.getCount(), dispatcher.snapshot())
        .isTrue();
    // Let the upstream threads finish what they hold, so that a late second answer would be counted below.
    upstream.shutdown();
    assertThat(upstream.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
    assertThat(upstreamFailures).isEmpty();

    assertThat(requests).hasSize(REQUESTS).allSatisfy(request -> {
      assertThat(request.answers).as("final answers").hasValue(1);
      // Each stay in the queue ends in exactly one departure: the first, and one after each requeue.
      assertThat(request.departures).as("departures").hasValue(1 + request.requeues.get());
      assertThat(request.dispatches() + request.rejections.get()).isEqualTo(request.departures.get());
      assertThat(request.rejections.get()).isLessThanOrEqualTo(1);
      assertThat(request.dispatches()).isLessThanOrEqualTo(MAX_ATTEMPTS);
      assertThat(request.everyPermitReleased()).isTrue();
    });
    PoolSnapshot snapshot = dispatcher.snapshot();
    assertThat(snapshot.size()).isZero();
    assertThat(snapshot.dispatched()).isEqualTo(requests.stream().mapToLong(Request::dispatches).sum());
    assertThat(snapshot.requeued()).isEqualTo(requests.stream().mapToLong(r -> r.requeues.get()).sum());
    assertThat(snapshot.timedOut()).isEqualTo(requests.stream().mapToLong(r -> r.rejections.get()).sum());
    assertThat(snapshot.rejectedFull()).isZero();
    assertThat(snapshot.evicted()).isZero();
    assertThat(snapshot.passedThroughFull()).isZero();

    // Rates changed all along; each backend's bucket ends at the rate its controller announced last.
    assertThat(rateChanges.get()).isPositive();
    for (Backend backend : backends) {
      BackendSnapshot state = backend.snapshot();
      assertThat(state.rateRpm()).as("bucket rate of %s", backend.id()).isEqualTo(state.retreat().currentRpm());
      assertThat(announcedRpm.getOrDefault(backend.id(), 60_000)).as("last announced rate of %s", backend.id())
          .isEqualTo(state.retreat().currentRpm());
    }
  }
}
