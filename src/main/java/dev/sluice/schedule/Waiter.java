package dev.sluice.schedule;

import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;

/**
 * A request waiting in a pool's queue. The dispatcher calls exactly one of {@link #dispatch} or {@link #reject}
 * each time the waiter leaves the queue, never under its lock; a waiter put back with
 * {@link Dispatcher#requeue} leaves again later.
 */
public interface Waiter {
  Priority priority();

  /** When the request arrived, by the dispatcher's clock. */
  long arrivalNanos();

  /** After this instant the request gives up waiting. */
  long deadlineNanos();

  /** Send now, with this permit. */
  void dispatch(Permit permit);

  /** Answer the caller with this refusal. */
  void reject(Rejection rejection);
}
