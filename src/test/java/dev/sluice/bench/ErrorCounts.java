package dev.sluice.bench;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.client.Result;

/** A load run's failed requests by kind (a failure's name, or {@code status_<code>}). Thread-safe. */
final class ErrorCounts {
  private final Map<String, LongAdder> byKind = new ConcurrentHashMap<>();

  /** Counts one request that failed or did not answer 200. */
  void count(Result result, int status) {
    add(result.isFailed() ? LoadGen.failureName(result.getFailure()) : "status_" + status, 1);
  }

  void add(String kind, long n) {
    byKind.computeIfAbsent(kind, k -> new LongAdder()).add(n);
  }

  /** Puts {@code errors} (the total) and {@code error_kinds} (by kind, sorted) into a run's result line. */
  void report(Map<String, Object> out) {
    Map<String, Long> kinds = new TreeMap<>();
    byKind.forEach((kind, n) -> kinds.put(kind, n.sum()));
    out.put("errors", kinds.values().stream().mapToLong(Long::longValue).sum());
    out.put("error_kinds", kinds);
  }
}
