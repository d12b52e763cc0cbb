package dev.sluice.schedule;

import dev.sluice.backend.Backend;
import dev.sluice.backend.Permit;
import dev.sluice.backend.Priority;
import java.net.URI;
import java.util.Optional;

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

  /** When it last joined the queue it is in: on arrival, when put back after a failure, or when it moved. */
  long enteredPoolNanos();

  /**
   * The tokens this request is expected to use, prompt and completion: what it reserves of a backend's
   * tokens-per-minute budget before it is sent (the backend caps it at its bucket's capacity).
   */
  long estimatedTokens();

  /** Upstream attempts made so far. */
  int attempts();

  /** Whether an attempt of this request already went to {@code backend}. */
  boolean triedBackend(Backend backend);

  /**
   * It moves to the queue of {@code fallback} at {@code nowNanos}: from now on that dispatcher serves it, puts it
   * back after an upstream failure and withdraws it.
   *
   * @param emergencyUpstream the emergency upstream of the pool it leaves, if any, to use when no pool can serve it
   */
  void movedTo(Dispatcher fallback, Optional<URI> emergencyUpstream, long nowNanos);

  /** The emergency upstream of a pool it left, if any. */
  Optional<URI> inheritedEmergencyUpstream();

  /** Send now, unshaped, to {@code upstream}: no pool could serve it in time. */
  void sendToEmergency(URI upstream);
}
