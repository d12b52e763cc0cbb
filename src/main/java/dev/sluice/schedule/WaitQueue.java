package dev.sluice.schedule;

import dev.sluice.backend.Priority;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * Waiters by priority: one FIFO per level, strict between levels. Within a level, deadlines follow arrival (one
 * timeout for all), so each level's front holds its earliest deadline; a waiter put back keeps that order. Not
 * thread-safe: the dispatcher guards it.
 */
final class WaitQueue {
  private static final Priority[] LEVELS = Priority.values();
  @SuppressWarnings("unchecked")
  private final ArrayDeque<Waiter>[] levels = new ArrayDeque[LEVELS.length];
  private int size;

  WaitQueue() {
    for (int i = 0; i < levels.length; i++) {
      levels[i] = new ArrayDeque<>();
    }
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  int depth(Priority priority) {
    return levels[priority.ordinal()].size();
  }

  /** Waiters that go before the first of {@code priority}: every waiter of a higher level. */
  int aheadOfLevel(Priority priority) {
    int ahead = 0;
    for (int i = 0; i < priority.ordinal(); i++) {
      ahead += levels[i].size();
    }
    return ahead;
  }

  void addLast(Waiter waiter) {
    levels[waiter.priority().ordinal()].addLast(waiter);
    size++;
  }

  /** Takes {@code waiter} out wherever it waits; false if it is not in the queue. */
  boolean remove(Waiter waiter) {
    if (!levels[waiter.priority().ordinal()].removeFirstOccurrence(waiter)) {
      return false;
    }
    size--;
    return true;
  }

  /**
   * Puts a waiter back at the front of its level, behind only the waiters whose deadlines come earlier (other
   * requests put back meanwhile), so that each level's front keeps its earliest deadline and nobody waits past it.
   */
  void putBack(Waiter waiter) {
    ArrayDeque<Waiter> level = levels[waiter.priority().ordinal()];
    ArrayDeque<Waiter> earlier = new ArrayDeque<>();
    while (!level.isEmpty() && level.peekFirst().deadlineNanos() < waiter.deadlineNanos()) {
      earlier.push(level.pollFirst());
    }
    level.addFirst(waiter);
    while (!earlier.isEmpty()) {
      level.addFirst(earlier.pop());
    }
    size++;
  }

  /** Every waiter in dispatch order; not to be modified while iterating. */
  Iterable<Waiter> inOrder() {
    return () -> Arrays.stream(levels).flatMap(ArrayDeque::stream).iterator();
  }

  /** The waiter that goes next, or null. */
  Waiter peek() {
    for (ArrayDeque<Waiter> level : levels) {
      if (!level.isEmpty()) {
        return level.peekFirst();
      }
    }
    return null;
  }

  Waiter poll() {
    for (ArrayDeque<Waiter> level : levels) {
      if (!level.isEmpty()) {
        size--;
        return level.pollFirst();
      }
    }
    return null;
  }

  /** The lowest level that has waiters, or null when empty. */
  Priority lowestWaitingLevel() {
    for (int i = levels.length - 1; i >= 0; i--) {
      if (!levels[i].isEmpty()) {
        return LEVELS[i];
      }
    }
    return null;
  }

  /** Removes and returns the newest waiter of {@code priority}. */
  Waiter pollNewest(Priority priority) {
    Waiter waiter = levels[priority.ordinal()].pollLast();
    if (waiter != null) {
      size--;
    }
    return waiter;
  }

  /** Removes, from the front of each level, the waiters {@code expired} accepts; returns them via {@code sink}. */
  void expireFronts(Predicate<Waiter> expired, java.util.function.Consumer<Waiter> sink) {
    for (ArrayDeque<Waiter> level : levels) {
      while (!level.isEmpty() && expired.test(level.peekFirst())) {
        size--;
        sink.accept(level.pollFirst());
      }
    }
  }

  /** The earliest deadline among the fronts of the levels, or {@code Long.MAX_VALUE}. */
  long earliestFrontDeadline() {
    long earliest = Long.MAX_VALUE;
    for (ArrayDeque<Waiter> level : levels) {
      if (!level.isEmpty()) {
        earliest = Math.min(earliest, level.peekFirst().deadlineNanos());
      }
    }
    return earliest;
  }

  /**
   * The earliest {@link Waiter#enteredPoolNanos} among the fronts of the levels that {@code filter} accepts, or
   * {@code Long.MAX_VALUE}.
   */
  long earliestFrontEntry(Predicate<Waiter> filter) {
    long earliest = Long.MAX_VALUE;
    for (ArrayDeque<Waiter> level : levels) {
      if (!level.isEmpty() && filter.test(level.peekFirst())) {
        earliest = Math.min(earliest, level.peekFirst().enteredPoolNanos());
      }
    }
    return earliest;
  }

  /** Removes every waiter, in dispatch order. */
  void drainTo(java.util.function.Consumer<Waiter> sink) {
    Waiter waiter;
    while ((waiter = poll()) != null) {
      sink.accept(waiter);
    }
  }
}
