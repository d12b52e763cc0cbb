package dev.sluice.bench;

import java.net.URI;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * N concurrent SSE chat streams, one connection each, started evenly over {@code --ramp} seconds. Each SSE event
 * is timestamped when the bytes that end it arrive. Per stream: time to first chunk (first data event, from the
 * intended start), every gap between consecutive content events, and completeness: status 200, {@code [DONE]}
 * seen, and exactly {@code --expect-content} content events when that is given. A gap shorter than a quarter of
 * {@code --per-token-ms} counts as <em>bunched</em>: two tokens the upstream sent a token-delay apart arrived
 * (nearly) together, the signature of a buffering or coalescing hop.
 *
 * <p>Bounded: everything still open {@code --duration-limit} seconds after the first start is aborted and
 * counted incomplete. Thread-safety: each stream's state is touched by one client thread at a time (Jetty
 * serializes a response's events); aggregates are atomic.
 */
@Command(name = "stream", mixinStandardHelpOptions = true,
    description = "N concurrent SSE chat streams; time to first chunk, gaps, completeness.")
final class StreamLoad implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Mixin
  Target target;

  @Option(names = "--streams", required = true, paramLabel = "N", description = "Streams measured, 1..15000.")
  int streams;

  @Option(names = "--duration-limit", required = true, paramLabel = "S",
      description = "Seconds after the first start when whatever is open is aborted, 1..900.")
  double limitSeconds;

  @Option(names = "--ramp", defaultValue = "0", paramLabel = "S",
      description = "Seconds over which the starts are spread evenly, 0..600; default ${DEFAULT-VALUE}.")
  double rampSeconds;

  @Option(names = "--warmup-streams", defaultValue = "0", paramLabel = "N",
      description = "A batch of this many streams first, of the same shape, not recorded, 0..15000.")
  int warmupStreams;

  @Option(names = "--per-token-ms", defaultValue = "20", paramLabel = "MS",
      description = "The upstream's delay between tokens, for the bunched share, 0..60000; default ${DEFAULT-VALUE}.")
  double perTokenMillis;

  @Option(names = "--expect-content", defaultValue = "0", paramLabel = "N",
      description = "Content events a complete stream has, 0..1000000; 0 does not check; default ${DEFAULT-VALUE}.")
  int expectContent;

  @Override
  public Integer call() throws Exception {
    Ranges.require(spec, "--streams", streams, 1, 15_000);
    Ranges.require(spec, "--duration-limit", limitSeconds, 1, 900);
    Ranges.require(spec, "--ramp", rampSeconds, 0, 600);
    Ranges.require(spec, "--warmup-streams", warmupStreams, 0, 15_000);
    Ranges.require(spec, "--per-token-ms", perTokenMillis, 0, 60_000);
    Ranges.require(spec, "--expect-content", expectContent, 0, 1_000_000);
    URI uri = target.url;
    byte[] body = target.body(true);
    HttpClient client = LoadGen.newClient(Math.max(streams, warmupStreams) + 64, /* roundRobin= */ false);
    try {
      if (warmupStreams > 0) {
        // Same shape, results dropped: warms the JITs of this process and of the target.
        batch(client, uri, body, warmupStreams, limitSeconds, rampSeconds, perTokenMillis, expectContent);
      }
      LoadGen.printResult("stream", target.tags,
          batch(client, uri, body, streams, limitSeconds, rampSeconds, perTokenMillis, expectContent));
      return 0;
    } finally {
      client.stop();
    }
  }

  private static Map<String, Object> batch(HttpClient client, URI uri, byte[] body, int streams,
      double limitSeconds, double rampSeconds, double perTokenMillis, int expectContent) throws Exception {
    long bunchedBelowNanos = (long) (perTokenMillis * 0.25 * 1e6);
    long idleTimeoutMillis = (long) Math.max(30_000, perTokenMillis * 4);
    Histogram ttfc = Latencies.newHistogram();
    Histogram gaps = Latencies.newHistogram();
    Histogram total = Latencies.newHistogram();
    LongAdder bunched = new LongAdder();
    LongAdder contentEvents = new LongAdder();
    LongAdder complete = new LongAdder();
    AtomicInteger connected = new AtomicInteger();
    AtomicInteger peakOpen = new AtomicInteger();
    Map<String, LongAdder> problems = new ConcurrentHashMap<>();
    CountDownLatch finished = new CountDownLatch(streams);

    final class Stream implements Response.Listener, SseEvents.Listener {
      private final long intendedNanos;
      private final SseEvents events = new SseEvents(this);
      private long nowNanos;
      private long lastContentNanos;
      private boolean begun;
      private boolean firstSeen;
      private boolean done;
      private int contents;

      Stream(long intendedNanos) {
        this.intendedNanos = intendedNanos;
      }

      @Override
      public void onBegin(Response response) {
        begun = true;
        peakOpen.accumulateAndGet(connected.incrementAndGet(), Math::max);
      }

      @Override
      public void onContent(Response response, ByteBuffer content) {
        nowNanos = System.nanoTime();
        events.feed(content);
      }

      @Override
      public void onEvent(SseEvents.Kind kind) {
        if (kind == SseEvents.Kind.NO_DATA) {
          return;
        }
        if (!firstSeen) {
          firstSeen = true;
          Latencies.record(ttfc, nowNanos - intendedNanos);
        }
        switch (kind) {
          case CONTENT -> {
            if (lastContentNanos != 0) {
              long gap = nowNanos - lastContentNanos;
              Latencies.record(gaps, gap);
              if (gap < bunchedBelowNanos) {
                bunched.increment();
              }
            }
            lastContentNanos = nowNanos;
            contents++;
          }
          case DONE -> done = true;
          default -> { }
        }
      }

      @Override
      public void onComplete(Result result) {
        long end = System.nanoTime();
        contentEvents.add(contents);
        int status = result.getResponse() == null ? 0 : result.getResponse().getStatus();
        String problem = null;
        if (result.isFailed()) {
          problem = LoadGen.failureName(result.getFailure());
        } else if (status != 200) {
          problem = "status_" + status;
        } else if (!done) {
          problem = "no_done";
        } else if (expectContent > 0 && contents != expectContent) {
          problem = "content_" + (contents < expectContent ? "missing" : "extra");
        }
        if (problem == null) {
          complete.increment();
          Latencies.record(total, end - intendedNanos);
        } else {
          problems.computeIfAbsent(problem, k -> new LongAdder()).increment();
        }
        if (begun) {
          connected.decrementAndGet();
        }
        finished.countDown();
      }
    }

    long start = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(100);
    long deadline = start + (long) (limitSeconds * 1e9);
    double spacingNanos = streams > 1 ? rampSeconds * 1e9 / (streams - 1) : 0;
    for (int i = 0; i < streams; i++) {
      long intended = start + (long) (i * spacingNanos);
      LoadGen.parkUntil(intended);
      client.newRequest(uri).method(HttpMethod.POST)
          .body(new BytesRequestContent("application/json", body))
          .idleTimeout(idleTimeoutMillis, TimeUnit.MILLISECONDS)
          .send(new Stream(intended));
    }
    System.err.printf("stream: %d streams started in %.1f s%n", streams, (System.nanoTime() - start) / 1e9);
    boolean allDone = finished.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    long elapsedNanos = System.nanoTime() - start;
    long unfinished = finished.getCount();
    if (!allDone) {
      // Abort what is left: their onComplete counts them before the figures are read.
      client.stop();
      client.start();
    }

    Map<String, Object> out = new LinkedHashMap<>();
    out.put("url", uri.toString());
    out.put("streams", streams);
    out.put("ramp_s", rampSeconds);
    out.put("per_token_ms", perTokenMillis);
    out.put("complete", complete.sum());
    out.put("incomplete", streams - complete.sum());
    Map<String, Long> problemCounts = new TreeMap<>();
    problems.forEach((k, v) -> problemCounts.put(k, v.sum()));
    if (!allDone) {
      problemCounts.put("unfinished_at_limit", unfinished);
    }
    out.put("problems", problemCounts);
    out.put("content_events", contentEvents.sum());
    out.put("expected_content_events", (long) expectContent * streams);
    out.put("peak_open_streams", peakOpen.get());
    out.put("elapsed_s", OpenLoop.round(elapsedNanos / 1e9));
    out.putAll(Latencies.summaryMillis("ttfc_", ttfc));
    out.putAll(Latencies.summaryMillis("gap_", gaps));
    out.put("bunched", bunched.sum());
    long gapCount = gaps.getTotalCount();
    out.put("bunched_share", gapCount == 0 ? 0.0 : Math.round(1e6 * bunched.sum() / gapCount) / 1e6);
    out.putAll(Latencies.summaryMillis("stream_", total));
    return out;
  }
}
