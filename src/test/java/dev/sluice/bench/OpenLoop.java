package dev.sluice.bench;

import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.eclipse.jetty.client.AbstractConnectionPool;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpMethod;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Open-loop constant-rate load: request i is due at {@code start + i / rate}, is sent then (or as soon as the
 * sender catches up), and its latency runs from that intended instant to the end of the response. The first
 * {@code warmup} seconds are sent the same way but not recorded. The run is bounded: {@code rate × (warmup +
 * duration)} requests, then at most {@code timeout + 5} seconds of waiting for stragglers, which count as errors.
 * At most {@code --max-connections} (default 64) connections are open to the target; a request that finds them all
 * busy waits in the client, and that wait is part of its latency. By default the client reuses the first idle
 * connection, so below saturation the lowest few carry most requests (the result's {@code connections_opened}
 * says how many the load needed at once); with {@code --round-robin} all of them are opened before the first
 * request and each request takes the next one in turn, as that many callers would, each sending now and then.
 *
 * <p>Thread-safety: one sender thread; responses complete on the client's threads into atomic counters.
 */
@Command(name = "open", mixinStandardHelpOptions = true,
    description = "Constant-rate load, latency from each request's intended send time.")
final class OpenLoop implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Target target;

  @Option(names = "--rate", required = true, paramLabel = "REQ/S", description = "Requests per second, 1..50000.")
  double rate;

  @Mixin
  RunLength length;

  // A bounded pool, as real clients have: with thousands allowed, one hiccup on a 2-core machine makes the client
  // open hundreds of new connections at once, and that storm (not the target) then dominates the tail. Requests
  // that wait for a pooled connection are still timed from their intended send, so waiting is charged.
  @Option(names = "--max-connections", defaultValue = "64", paramLabel = "N",
      description = "Connections to the target at most, 1..10000; default ${DEFAULT-VALUE}.")
  int maxConnections;

  @Option(names = "--round-robin",
      description = "Open all --max-connections first and send each request on the next one in turn.")
  boolean roundRobin;

  @Override
  public Integer call() throws Exception {
    Ranges.require(spec, "--rate", rate, 1, 50_000);
    length.check(spec);
    Ranges.require(spec, "--max-connections", maxConnections, 1, 10_000);
    LoadGen.printResult("open", target.tags, run(target.url, target.body(false)));
    return 0;
  }

  private Map<String, Object> run(URI uri, byte[] body) throws Exception {
    long warmupCount = Math.round(rate * length.warmupSeconds);
    long measuredCount = Math.round(rate * length.durationSeconds);
    long total = warmupCount + measuredCount;
    double periodNanos = 1e9 / rate;

    HttpClient client = LoadGen.newClient(maxConnections, roundRobin);
    AbstractConnectionPool pool =
        (AbstractConnectionPool) client.resolveDestination(client.newRequest(uri)).getConnectionPool();
    if (roundRobin) {
      pool.preCreateConnections(maxConnections).get(30, TimeUnit.SECONDS);
    }
    Histogram latency = Latencies.newHistogram();
    LongAdder ok = new LongAdder();
    ErrorCounts errors = new ErrorCounts();
    AtomicLong maxSendLagNanos = new AtomicLong();
    CountDownLatch outstanding = new CountDownLatch((int) total);
    AtomicLong lastMeasuredEnd = new AtomicLong();

    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(200);
    long measureStart = start + (long) (warmupCount * periodNanos);
    for (long i = 0; i < total; i++) {
      long intended = start + (long) (i * periodNanos);
      LoadGen.parkUntil(intended);
      boolean measured = i >= warmupCount;
      if (measured) {
        maxSendLagNanos.accumulateAndGet(System.nanoTime() - intended, Math::max);
      }
      client.newRequest(uri).method(HttpMethod.POST)
          .body(new BytesRequestContent("application/json", body))
          .timeout(length.timeoutSeconds, TimeUnit.SECONDS)
          .send(new Response.Listener() {
            @Override
            public void onContent(Response response, ByteBuffer content) {
              // Discarded: only the timing matters.
            }

            @Override
            public void onComplete(Result result) {
              long end = System.nanoTime();
              if (measured) {
                int status = result.getResponse() == null ? 0 : result.getResponse().getStatus();
                if (result.isSucceeded() && status == 200) {
                  Latencies.record(latency, end - intended);
                  ok.increment();
                } else {
                  errors.count(result, status);
                }
                lastMeasuredEnd.accumulateAndGet(end, Math::max);
              }
              outstanding.countDown();
            }
          });
    }
    long sendEnd = System.nanoTime();
    boolean allDone = outstanding.await(length.timeoutSeconds + 5, TimeUnit.SECONDS);
    long unfinished = outstanding.getCount();
    // First-idle opens a connection only when every open one is busy: this is how many the load needed at once.
    int connectionsOpened = pool.getConnectionCount();
    client.stop();

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", uri.toString());
    out.put("target_rate", rate);
    out.put("duration_s", length.durationSeconds);
    out.put("warmup_s", length.warmupSeconds);
    out.put("connections", maxConnections);
    out.put("round_robin", roundRobin);
    out.put("connections_opened", connectionsOpened);
    out.put("sent", measuredCount);
    out.put("ok", ok.sum());
    if (!allDone) {
      errors.add("unfinished", unfinished);
    }
    errors.report(out);
    out.put("send_rate", round(measuredCount / ((sendEnd - measureStart) / 1e9)));
    long span = Math.max(lastMeasuredEnd.get(), sendEnd) - measureStart;
    out.put("achieved_rate", round(ok.sum() / (span / 1e9)));
    out.put("max_send_lag_ms", round(maxSendLagNanos.get() / 1e6));
    out.putAll(Latencies.summaryMillis("", latency));
    return out;
  }

  static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
