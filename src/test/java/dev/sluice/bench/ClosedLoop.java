package dev.sluice.bench;

import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
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
 * Closed-loop load: C workers, each sending its next request when the previous one completes, until the warmup
 * plus the measured duration have passed. Throughput counts requests that both started and ended inside the
 * measured window; latency runs from each request's actual send (closed loops cannot avoid coordinated omission,
 * which is why the latency figures of record come from {@link OpenLoop}).
 *
 * <p>Thread-safety: workers are chains of callbacks on the client's threads; counters are atomic.
 */
@Command(name = "closed", mixinStandardHelpOptions = true,
    description = "C requests in flight at all times; reports the throughput.")
final class ClosedLoop implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Target target;

  @Option(names = "--concurrency", required = true, paramLabel = "C",
      description = "Requests in flight, 1..10000.")
  int concurrency;

  @Mixin
  RunLength length;

  @Override
  public Integer call() throws Exception {
    Ranges.require(spec, "--concurrency", concurrency, 1, 10_000);
    length.check(spec);
    LoadGen.printResult("closed", target.tags, run(target.url, target.body(false)));
    return 0;
  }

  private Map<String, Object> run(URI uri, byte[] body) throws Exception {
    HttpClient client = LoadGen.newClient(Math.max(concurrency, 8), /* roundRobin= */ false);
    Histogram latency = Latencies.newHistogram();
    LongAdder ok = new LongAdder();
    ErrorCounts errors = new ErrorCounts();
    long start = System.nanoTime();
    long measureStart = start + (long) (length.warmupSeconds * 1e9);
    long measureEnd = measureStart + (long) (length.durationSeconds * 1e9);
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
            .timeout(length.timeoutSeconds, TimeUnit.SECONDS)
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
            Latencies.record(latency, end - sentNanos);
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
    boolean allDone = workersDone.await(
        (long) (length.warmupSeconds + length.durationSeconds) + length.timeoutSeconds + 5, TimeUnit.SECONDS);
    client.stop();

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", uri.toString());
    out.put("concurrency", concurrency);
    out.put("duration_s", length.durationSeconds);
    out.put("ok", ok.sum());
    if (!allDone) {
      errors.add("unfinished_workers", workersDone.getCount());
    }
    errors.report(out);
    out.put("throughput_rps", OpenLoop.round(ok.sum() / length.durationSeconds));
    out.putAll(Latencies.summaryMillis("", latency));
    return out;
  }
}
