package dev.sluice.observe.dashboard;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Priority;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryUsage;
import dev.sluice.limit.QuotaSnapshot;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatSnapshot;
import dev.sluice.limit.RetreatState;
import dev.sluice.schedule.PoolSnapshot;
import dev.sluice.schedule.PoolView;
import java.net.URI;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

/** A pool view with fixed state and {@code backends} backends, counting how often it is read. Thread-safe. */
final class FakePool implements PoolView {
  private final String name;
  private final int backends;
  private final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();

  FakePool(String name, int backends) {
    this.name = name;
    this.backends = backends;
  }

  @Override
  public PoolSnapshot snapshot() {
    reads.incrementAndGet();
    Map<Priority, Integer> depth = new EnumMap<>(Priority.class);
    for (Priority p : Priority.values()) {
      depth.put(p, 0);
    }
    depth.put(Priority.NORMAL, 3);
    List<BackendSnapshot> list = IntStream.range(0, backends).mapToObj(i -> new BackendSnapshot(
        backends == 1 ? name : name + "-" + i, name, URI.create("http://127.0.0.1:1/v1"), true, 12, 40, 40,
        new RetreatSnapshot(RetreatState.NORMAL, 40, 40, 0.0, 0), 0, 1, Optional.empty(), 8, false, 0, 0,
        Optional.empty(), Map.of(), 0, new QuotaSnapshot(QuotaState.WITHIN_QUOTA, 0, 0, 0, 99, 5, false, "", 300_000,
        0, 0, 0, 0), 0, 0, -1, -1)).toList();
    return new PoolSnapshot(name, 3, 500, FullPolicy.PASSTHROUGH, depth, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        new RetryUsage(10, 0), list);
  }

  int reads() {
    return reads.get();
  }
}
