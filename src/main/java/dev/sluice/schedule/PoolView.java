package dev.sluice.schedule;

/** Read-only access to a pool's queue and backends, for status pages and metrics. Thread-safe. */
public interface PoolView {

  /** The pool as it is now; a consistent copy, taken under the pool's lock. */
  PoolSnapshot snapshot();
}
