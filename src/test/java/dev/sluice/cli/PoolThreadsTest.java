package dev.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The shared pool's threads after bursts: what a burst started retires once idle. */
class PoolThreadsTest {
  private final List<AutoCloseable> running = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable resource : running.reversed()) {
      resource.close();
    }
  }

  @Test
  void idleThreadsAboveTheMinimumRetireTogetherAfterABurst() throws Exception {
    int minThreads = 4;
    int busy = 60;
    ProxyThreadPool pool = new ProxyThreadPool(busy + minThreads, minThreads, Duration.ofSeconds(1));
    pool.start();
    running.add(pool::stop);
    CountDownLatch started = new CountDownLatch(busy);
    CountDownLatch release = new CountDownLatch(1);
    for (int i = 0; i < busy; i++) {
      pool.execute(() -> {
        started.countDown();
        try {
          release.await(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
    assertThat(started.await(1, TimeUnit.MINUTES)).isTrue();
    assertThat(pool.getThreads()).isGreaterThanOrEqualTo(busy);

    release.countDown();

    // One thread per idle timeout, Jetty's default, would take a minute; all of them leave within about two.
    await().atMost(Duration.ofSeconds(20)).until(() -> pool.getThreads() == minThreads);
  }
}
