package dev.sluice.bench;

import dev.sluice.bench.LoadGen.Args;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Open-loop constant-rate load: request i is due at {@code start + i / rate}, is sent then (or as soon as the
 * sender catches up), and its latency runs from that intended instant to the end of the response. The first
 * {@code warmup} seconds are sent the same way but not recorded. The run is bounded: {@code rate × (warmup +
 * duration)} requests, then at most {@code timeout + 5} seconds of waiting for stragglers, which count as errors.
 * At most {@code --max-connections} (default 64) connections are open to the target; a request that finds them all
 * busy waits in the client, and that wait is part of its latency.
 *
 * <p>Thread-safety: one sender thread; responses complete on the client's threads into atomic counters.
 */
final class OpenLoop {
  private OpenLoop() {}

  static Map<String, Object> run(Args args) throws Exception {
    URI uri = args.uri();
    double rate = args.requireNumber("rate");
    double durationSeconds = args.requireNumber("duration");
    double warmupSeconds = args.number("warmup", 2);
    long timeoutSeconds = (long) args.number("timeout", 10);
    // A bounded pool, as real clients have: with thousands allowed, one hiccup on a 2-core machine makes the client
    // open hundreds of new connections at once, and that storm (not the target) then dominates the tail. Requests
    // that wait for a pooled connection are still timed from their intended send, so waiting is charged.
    int maxConnections = (int) args.number("max-connections", 64);
    byte[] body = LoadGen.body(args, false);
    if (rate <= 0 || rate > 50_000 || durationSeconds <= 0 || durationSeconds > 600) {
      throw new IllegalArgumentException("rate must be 1..50000 and duration 1..600 s");
    }
    long warmupCount = Math.round(rate * warmupSeconds);
    long measuredCount = Math.round(rate * durationSeconds);
    long total = warmupCount + measuredCount;
    double periodNanos = 1e9 / rate;

    HttpClient client = LoadGen.newClient(maxConnections);
    LatencyHistogram latency = new LatencyHistogram();
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
          .timeout(timeoutSeconds, TimeUnit.SECONDS)
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
                  latency.recordNanos(end - intended);
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
    boolean allDone = outstanding.await(timeoutSeconds + 5, TimeUnit.SECONDS);
    long unfinished = outstanding.getCount();
    client.stop();

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", uri.toString());
    out.put("target_rate", rate);
    out.put("duration_s", durationSeconds);
    out.put("warmup_s", warmupSeconds);
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
    out.putAll(latency.summaryMillis(""));
    return out;
  }

  static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
