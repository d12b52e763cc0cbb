package dev.sluice.schedule;

import dev.sluice.backend.Priority;
import dev.sluice.time.Waits;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.Predicate;

/**
 * Waiters by priority: one FIFO per level, strict between levels, with a lane of retries between {@code urgent} and
 * {@code high}: requests whose backend failed go before every level but the urgent one, which keeps its short wait.
 * Within a level, deadlines follow arrival (one timeout for all), so each level's front holds its earliest deadline;
 * a waiter put back keeps that order, and so does the retry lane. Not thread-safe: the dispatcher guards it.
 */
final class WaitQueue {
  private static final Priority[] LEVELS = Priority.values();
  /** {@code lanes[0]} holds urgent waiters, {@code lanes[1]} the retries, {@code lanes[1 + level]} the others. */
  @SuppressWarnings("unchecked")
  private final ArrayDeque<Waiter>[] lanes = new ArrayDeque[LEVELS.length + 1];
  private int size;

  WaitQueue() {
    for (int i = 0; i < lanes.length; i++) {
      lanes[i] = new ArrayDeque<>();
    }
  }

  private static final int RETRY_LANE = 1;

  private static int laneOf(Priority priority) {
    return priority == Priority.URGENT ? 0 : 1 + priority.ordinal();
  }

  private ArrayDeque<Waiter> level(Priority priority) {
    return lanes[laneOf(priority)];
  }

  private ArrayDeque<Waiter> retries() {
    return lanes[RETRY_LANE];
  }

  int size() {
    return size;
  }

  boolean isEmpty() {
    return size == 0;
  }

  /** Waiters of {@code priority}, in its level and in the retry lane. */
  int depth(Priority priority) {
    int inRetries = 0;
    for (Waiter waiter : retries()) {
      inRetries += waiter.priority() == priority ? 1 : 0;
    }
    return level(priority).size() + inRetries;
  }

  /** Waiters that go before the first of {@code priority}'s level: every waiter of a higher level, and the retries. */
  int aheadOfLevel(Priority priority) {
    int ahead = 0;
    for (int i = 0; i < laneOf(priority); i++) {
      ahead += lanes[i].size();
    }
    return ahead;
  }

  void addLast(Waiter waiter) {
    level(waiter.priority()).addLast(waiter);
    size++;
  }

  /** Takes {@code waiter} out wherever it waits; false if it is not in the queue. */
  boolean remove(Waiter waiter) {
    if (!level(waiter.priority()).removeFirstOccurrence(waiter) && !retries().removeFirstOccurrence(waiter)) {
      return false;
    }
    size--;
    return true;
  }

  /** Whether the waiter that goes next is a retry. */
  boolean headIsRetry() {
    return lanes[0].isEmpty() && !retries().isEmpty();
  }

  /**
   * Puts a waiter back at the front of its level, behind only the waiters whose deadlines come earlier (other
   * requests put back meanwhile), so that each level's front keeps its earliest deadline and nobody waits past it.
   */
  void putBack(Waiter waiter) {
    putInDeadlineOrder(level(waiter.priority()), waiter);
  }

  /**
   * Puts a waiter whose attempt failed for the upstream's reasons (not a 429) in the retry lane, in deadline order:
   * it was served once, and the next backend that can take it should, after the urgent requests. An urgent waiter
   * goes back to the front of its own level, which is ahead of the lane.
   */
  void putRetry(Waiter waiter) {
    putInDeadlineOrder(waiter.priority() == Priority.URGENT ? level(Priority.URGENT) : retries(), waiter);
  }

  private void putInDeadlineOrder(ArrayDeque<Waiter> level, Waiter waiter) {
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

  /**
   * The tokens the first {@code n} waiters, in dispatch order, will take: each estimate counted up to
   * {@code largestCost} (no backend reserves more for one request), the sum saturating.
   */
  long tokensOfFirst(int n, long largestCost) {
    long tokens = 0;
    int counted = 0;
    for (Waiter waiter : inOrder()) {
      if (counted++ == n) {
        break;
      }
      tokens = Waits.saturatedAdd(tokens, Math.clamp(waiter.estimatedTokens(), 0, largestCost));
    }
    return tokens;
  }


  /** Every waiter in dispatch order; not to be modified while iterating. */
  Iterable<Waiter> inOrder() {
    return () -> Arrays.stream(lanes).flatMap(ArrayDeque::stream).iterator();
  }

  /** The waiter that goes next, or null. */
  Waiter peek() {
    for (ArrayDeque<Waiter> level : lanes) {
      if (!level.isEmpty()) {
        return level.peekFirst();
      }
    }
    return null;
  }

  Waiter poll() {
    for (ArrayDeque<Waiter> level : lanes) {
      if (!level.isEmpty()) {
        size--;
        return level.pollFirst();
      }
    }
    return null;
  }

  /** The lowest level that has waiters (retries aside: they are never evicted), or null when there is none. */
  Priority lowestWaitingLevel() {
    for (int i = LEVELS.length - 1; i >= 0; i--) {
      if (!level(LEVELS[i]).isEmpty()) {
        return LEVELS[i];
      }
    }
    return null;
  }

  /** Removes and returns the newest waiter of {@code priority}'s level. */
  Waiter pollNewest(Priority priority) {
    Waiter waiter = level(priority).pollLast();
    if (waiter != null) {
      size--;
    }
    return waiter;
  }

  /** Removes, from the front of each level, the waiters {@code expired} accepts; returns them via {@code sink}. */
  void expireFronts(Predicate<Waiter> expired, java.util.function.Consumer<Waiter> sink) {
    for (ArrayDeque<Waiter> level : lanes) {
      while (!level.isEmpty() && expired.test(level.peekFirst())) {
        size--;
        sink.accept(level.pollFirst());
      }
    }
  }

  /** The earliest deadline among the fronts of the levels, or {@code Long.MAX_VALUE}. */
  long earliestFrontDeadline() {
    long earliest = Long.MAX_VALUE;
    for (ArrayDeque<Waiter> level : lanes) {
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
    for (ArrayDeque<Waiter> level : lanes) {
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
