package dev.sluice.cli;

import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The one thread pool of the server and the upstream client, with one hand-off removed.
 *
 * <p>A proxied request ends asynchronously, on the thread that read the last upstream bytes. When its callback
 * completes, Jetty's HTTP/1.1 server connection resumes reading the caller's next request by executing itself on
 * the pool: a thread wake-up, a context switch and a park per request, about a fifth of the proxy's CPU at high
 * request rates. Every handler of this server is non-blocking, so resuming the connection cannot block either,
 * and this pool runs that one task on the calling thread. Every other task is queued as usual.
 */
final class ProxyThreadPool extends QueuedThreadPool {
  /** Jetty's HTTP/1.1 server connection; its {@code run()} parses and handles the next buffered request. */
  private static final String SERVER_CONNECTION = "org.eclipse.jetty.server.internal.HttpConnection";

  ProxyThreadPool(int maxThreads, int minThreads) {
    super(maxThreads, minThreads);
  }

  @Override
  public void execute(Runnable job) {
    if (job.getClass().getName().equals(SERVER_CONNECTION)) {
      job.run();
    } else {
      super.execute(job);
    }
  }
}
