package dev.sluice.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.Clock;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression test: retreat cuts and recoveries change bucket rates and wake the dispatcher from the threads that
 * release permits, while other threads submit and requeue. None of that may deadlock or lose a waiter.
 */
class DispatcherConcurrencyTest {
  private static final int THREADS = 8;
  private static final int PER_THREAD = 400;

  private final Clock clock = Clock.system();
  private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1);
  private final ExecutorService upstream = Executors.newFixedThreadPool(4);
  private final AtomicLong rateChanges = new AtomicLong();

  @AfterEach
  void stop() {
    timer.shutdownNow();
    upstream.shutdownNow();
  }

  /** Judges every rate after one answer, so retreat and recovery change rates constantly. */
  private RetreatPolicy twitchy() {
    return new RetreatPolicy(true, Duration.ofSeconds(1), 0.05, 0.10, 0.20, 0.02, Duration.ofMillis(5), 200, 1,
        Duration.ofMillis(1), 500, Duration.ofMillis(1));
  }

  private Backend backend(String id, BucketStore store) {
    return new Backend(id, "pool", URI.create("http://127.0.0.1:1/v1"), Optional.empty(),
        new TokenBucket(store, id, 60_000, 20),
        new RetreatController(twitchy(), 60_000, clock.nanoTime(),
            (state, from, to, ratio, alert, atFloor) -> rateChanges.incrementAndGet()),
        clock);
  }

  private final class Request implements Waiter {
    private final Priority priority;
    private final long arrival = clock.nanoTime();
    private final long deadline = arrival + Duration.ofSeconds(2).toNanos();
    private final Dispatcher dispatcher;
    private final Random random;
    private final CountDownLatch answered;
    private final AtomicInteger departures;
    private int attempts;

    Request(Priority priority, Dispatcher dispatcher, Random random, CountDownLatch answered,
        AtomicInteger departures) {
      this.priority = priority;
      this.dispatcher = dispatcher;
      this.random = random;
      this.answered = answered;
      this.departures = departures;
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
    public void dispatch(Permit permit) {
      departures.incrementAndGet();
      boolean rateLimited;
      synchronized (random) {
        rateLimited = random.nextInt(100) < 30;
      }
      upstream.execute(() -> {
        attempts++;
        permit.release(new Attempt(rateLimited ? 429 : 200, 0));
        if (rateLimited && attempts < 3) {
          dispatcher.requeue(this);
        } else {
          answered.countDown();
        }
      });
    }

    @Override
    public void reject(Rejection rejection) {
      departures.incrementAndGet();
      answered.countDown();
    }
  }

  @Test
  void retreatAndRecoveryCannotDeadlockTheDispatcherUnderConcurrentArrivals() throws Exception {
    timer.setRemoveOnCancelPolicy(true);
    BucketStore store = BucketStore.inMemory();
    Dispatcher dispatcher = new Dispatcher("pool", List.of(backend("a", store), backend("b", store)),
        new Dispatcher.Settings(THREADS * PER_THREAD, FullPolicy.DROP_LOWEST, Duration.ofMillis(200).toNanos()),
        clock, Scheduler.of(timer));
    CountDownLatch answered = new CountDownLatch(THREADS * PER_THREAD);
    AtomicInteger departures = new AtomicInteger();
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<Thread> callers = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Random random = new Random(42 + t);
      callers.add(Thread.ofPlatform().start(() -> {
        try {
          start.await(10, TimeUnit.SECONDS);
          for (int i = 0; i < PER_THREAD; i++) {
            Priority priority;
            synchronized (random) {
              priority = Priority.values()[random.nextInt(4)];
            }
            dispatcher.submit(new Request(priority, dispatcher, random, answered, departures));
          }
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }));
    }
    for (Thread caller : callers) {
      caller.join(Duration.ofSeconds(30));
    }

    assertThat(answered.await(30, TimeUnit.SECONDS))
        .as("every request answered; %d still open, snapshot %s", answered.getCount(), dispatcher.snapshot())
        .isTrue();
    assertThat(dispatcher.snapshot().size()).isZero();
    assertThat(rateChanges.get()).isPositive();
    assertThat(departures.get()).isGreaterThanOrEqualTo(THREADS * PER_THREAD);
  }
}
