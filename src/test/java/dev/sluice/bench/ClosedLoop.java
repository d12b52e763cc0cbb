package dev.sluice.bench;

import dev.sluice.bench.LoadGen.Args;
import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Closed-loop load: C workers, each sending its next request when the previous one completes, until the warmup
 * plus the measured duration have passed. Throughput counts requests that both started and ended inside the
 * measured window; latency runs from each request's actual send (closed loops cannot avoid coordinated omission,
 * which is why the latency figures of record come from {@link OpenLoop}).
 *
 * <p>Thread-safety: workers are chains of callbacks on the client's threads; counters are atomic.
 */
final class ClosedLoop {
  private ClosedLoop() {}

  static Map<String, Object> run(Args args) throws Exception {
    URI uri = args.uri();
    int concurrency = (int) args.requireNumber("concurrency");
    double durationSeconds = args.requireNumber("duration");
    double warmupSeconds = args.number("warmup", 2);
    long timeoutSeconds = (long) args.number("timeout", 10);
    byte[] body = LoadGen.body(args, false);
    if (concurrency < 1 || concurrency > 10_000 || durationSeconds <= 0 || durationSeconds > 600) {
      throw new IllegalArgumentException("concurrency must be 1..10000 and duration 1..600 s");
    }
    HttpClient client = LoadGen.newClient(Math.max(concurrency, 8));
    LatencyHistogram latency = new LatencyHistogram();
    LongAdder ok = new LongAdder();
    ErrorCounts errors = new ErrorCounts();
    long start = System.nanoTime();
    long measureStart = start + (long) (warmupSeconds * 1e9);
    long measureEnd = measureStart + (long) (durationSeconds * 1e9);
    CountDownLatch workersDone = new CountDownLatch(concurrency);

    class Worker implements Response.Listener {
      private long sentNanos;

      void next() {
        sentNanos = System.nanoTime();
        if (sentNanos >= measureEnd) {
          workersDone.countDown();
          return;
        }
        client.newRequest(uri).method(HttpMethod.POST)
            .body(new BytesRequestContent("application/json", body))
            .timeout(timeoutSeconds, TimeUnit.SECONDS)
            .send(this);
      }

      @Override
      public void onContent(Response response, ByteBuffer content) {
        // Discarded.
      }

      @Override
      public void onComplete(Result result) {
        long end = System.nanoTime();
        if (sentNanos >= measureStart && end <= measureEnd) {
          int status = result.getResponse() == null ? 0 : result.getResponse().getStatus();
          if (result.isSucceeded() && status == 200) {
            ok.increment();
            latency.recordNanos(end - sentNanos);
          } else {
            errors.count(result, status);
          }
        }
        next();
      }
    }
    for (int i = 0; i < concurrency; i++) {
      new Worker().next();
    }
    boolean allDone = workersDone.await((long) (warmupSeconds + durationSeconds) + timeoutSeconds + 5,
        TimeUnit.SECONDS);
    client.stop();

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", uri.toString());
    out.put("concurrency", concurrency);
    out.put("duration_s", durationSeconds);
    out.put("ok", ok.sum());
    if (!allDone) {
      errors.add("unfinished_workers", workersDone.getCount());
    }
    errors.report(out);
    out.put("throughput_rps", OpenLoop.round(ok.sum() / durationSeconds));
    out.putAll(latency.summaryMillis(""));
    return out;
  }
}
