package dev.sluice.proxy;

import dev.sluice.backend.Backend;
import dev.sluice.schedule.Scheduler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jetty.client.HttpClient;

/**
 * Brings dead backends back: every {@code interval}, each backend whose upstream refused its key (not one an
 * operator disabled) is asked {@code GET <base>/models} with its key, through the shared client, within 5 s; a 2xx
 * puts it back in service. Runs on the dispatchers' scheduler and never blocks it. Thread-safe.
 */
public final class DeadKeyProbe {
  private final HttpClient client;
  private final List<Backend> backends;
  private final Scheduler scheduler;
  private final long intervalNanos;

  public DeadKeyProbe(HttpClient client, List<Backend> backends, Scheduler scheduler, Duration interval) {
    this.client = client;
    this.backends = List.copyOf(backends);
    this.scheduler = scheduler;
    this.intervalNanos = interval.toNanos();
  }

  /** Probes every interval from now on, until the scheduler is shut down. */
  public void start() {
    scheduler.schedule(this::round, intervalNanos);
  }

  /** Ends when the scheduler is shut down. */
  private void round() {
    try {
      probeDead();
    } finally {
      scheduler.schedule(this::round, intervalNanos);
    }
  }

  /** Probes each dead backend once; completes when every probe has ended. */
  public CompletableFuture<Void> probeDead() {
    return CompletableFuture.allOf(backends.stream()
        .filter(b -> b.outOfService().filter(out -> !out.disabled()).isPresent())
        .map(this::probe)
        .toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> probe(Backend backend) {
    return UpstreamProbe.modelsStatus(client, backend.baseUrl(), backend.apiKey()).thenAccept(status -> {
      if (status >= 200 && status < 300) {
        backend.reviveDead("a probe with its key was answered " + status);
      }
    });
  }
}
