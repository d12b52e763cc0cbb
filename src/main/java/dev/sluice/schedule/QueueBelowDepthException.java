package dev.sluice.schedule;

/**
 * A pool's queue was asked to shrink below the number of requests waiting in it; nothing was changed. Waiters are
 * never dropped to make a smaller queue fit.
 */
public final class QueueBelowDepthException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final String pool;
  private final int requestedSize;
  private final int depth;

  public QueueBelowDepthException(String pool, int requestedSize, int depth) {
    super("queue_max_size " + requestedSize + " is below the current depth " + depth + " of pool " + pool);
    this.pool = pool;
    this.requestedSize = requestedSize;
    this.depth = depth;
  }

  public String pool() {
    return pool;
  }

  public int requestedSize() {
    return requestedSize;
  }

  /** Requests waiting when the change was refused. */
  public int depth() {
    return depth;
  }
}
