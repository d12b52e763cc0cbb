package dev.sluice.cli;

import java.time.Duration;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The one thread pool of the server and the upstream client, with four hand-offs removed and idle threads retired
 * together.
 *
 * <p>A proxied request ends asynchronously, on the thread that read the last upstream bytes. When its callback
 * completes, Jetty's HTTP/1.1 server connection resumes reading the caller's next request by executing itself on
 * the pool: a thread wake-up, a context switch and a park per request, about a fifth of the proxy's CPU at high
 * request rates. Every handler of this server is non-blocking, so resuming the connection cannot block either,
 * and this pool runs that task on the calling thread.
 *
 * <p>A new connection costs two more: the selector that accepted a caller's connection, or finished connecting to
 * an upstream, executes the creation of its end point and connection on the pool, and that thread hands the
 * registration back to the selector. Creating them only allocates and registers interest, so the selector runs
 * it itself. Opening 9,000 streams over 15 s used to grow the process to about 140 threads for these tasks, and
 * its memory by about 110 MB; it now keeps about 50 threads.
 *
 * <p>A closed connection costs the fourth: Jetty executes the notice that an end point closed on the pool, though
 * it only tells close listeners (Sluice registers none) and drops the end point from its connector's set. The
 * pool starts a thread for every task it queues while no thread is idle, so a burst of closes, such as a crowd of
 * callers hanging up at once, grew it by a thread for each close that came faster than a thread could take it.
 * The closing thread now runs the notice itself.
 *
 * <p>The pool still grows when tasks that may block arrive faster than its threads take them (an upstream host
 * name to resolve, for instance). A thread that waited the idle timeout for a task retires, and all such threads
 * above the minimum go within about two idle timeouts. Jetty's default lets one go per idle timeout, which after
 * a burst to 170 threads took close to three hours.
 *
 * <p>The tasks run inline are recognised by Jetty's class names; should an upgrade rename one, that task is simply
 * handed off again (slower, not wrong).
 */
final class ProxyThreadPool extends QueuedThreadPool {
  /** Jetty's HTTP/1.1 server connection; its {@code run()} parses and handles the next buffered request. */
  private static final String SERVER_CONNECTION = "org.eclipse.jetty.server.internal.HttpConnection";
  private static final String ACCEPT = "org.eclipse.jetty.io.ManagedSelector$Accept";
  private static final String CREATE_END_POINT = "org.eclipse.jetty.io.ManagedSelector$CreateEndPoint";
  private static final String DESTROY_END_POINT = "org.eclipse.jetty.io.ManagedSelector$DestroyEndPoint";

  /**
   * @param maxThreads most threads at once, selectors included
   * @param minThreads threads kept however idle, selectors included
   * @param idleTimeout how long a thread above {@code minThreads} may wait for a task before it retires
   */
  ProxyThreadPool(int maxThreads, int minThreads, Duration idleTimeout) {
    super(maxThreads, minThreads, Math.toIntExact(idleTimeout.toMillis()));
    setMaxEvictCount(maxThreads);
  }

  @Override
  public void execute(Runnable job) {
    String name = job.getClass().getName();
    if (name.equals(SERVER_CONNECTION) || name.equals(ACCEPT) || name.equals(CREATE_END_POINT)
        || name.equals(DESTROY_END_POINT)) {
      job.run();
    } else {
      super.execute(job);
    }
  }
}
