package dev.sluice.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The open loop of the shaping, failover and token drivers: request {@code i} is due at {@code start + offset(i)},
 * is sent then on a virtual thread of its own (or as soon as the sender catches up), and its latency runs from that
 * intended instant to the whole answer, so a late send is charged to the answer. Bounded: after the last send it
 * waits at most {@code drainSeconds} for the answers, then cancels the rest, which count as unanswered.
 *
 * <p>Thread-safety: {@link #send} is called from one thread; the handler runs on the requests' virtual threads, once
 * per request that got as far as being sent, and must write only that request's own slot (read after
 * {@link #send} returns).
 */
final class OpenSender implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What came back for one request.
   *
   * @param sendLagNanos how much later than intended it was sent
   * @param latencyNanos from the intended send to the whole answer; -1 without an answer
   * @param status the HTTP status; 0 without an answer
   * @param headers the answer's headers; null without an answer
   * @param body the answer's body; null without an answer
   * @param failure why there was no answer (the exception's simple name, or {@code interrupted} when it was given
   *     up); "" with an answer
   */
  record Reply(long sendLagNanos, long latencyNanos, int status, HttpHeaders headers, byte[] body, String failure) {
    boolean answered() {
      return status > 0;
    }

    /** The value of header {@code name}, or "" when absent (or without an answer). */
    String header(String name) {
      return headers == null ? "" : headers.firstValue(name).orElse("");
    }

    /** The OpenAI error's {@code code} (commas made semicolons, for CSV); "" if none, "non-json" for another body. */
    String errorCode() {
      if (body == null) {
        return "";
      }
      try {
        JsonNode code = JSON.readTree(body).path("error").path("code");
        return code.isTextual() ? code.asText().replace(',', ';') : "";
      } catch (IOException e) {
        return "non-json";
      }
    }
  }

  /** Told of each request's reply, on that request's virtual thread. */
  @FunctionalInterface
  interface Handler {
    void onReply(int index, Reply reply);
  }

  private final ExecutorService vthreads = Executors.newVirtualThreadPerTaskExecutor();
  private final HttpClient client;

  /** @param connectTimeout how long a new connection to the target may take */
  OpenSender(Duration connectTimeout) {
    this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(connectTimeout)
        .executor(vthreads).build();
  }

  /**
   * Sends {@code offsetsNanos.length} requests, request {@code i} at {@code startNanos + offsetsNanos[i]}, then
   * waits for their answers at most {@code drainSeconds}. Returns whether every request was answered (or failed) in
   * that time; those that were not are cancelled.
   */
  boolean send(long startNanos, long[] offsetsNanos, IntFunction<HttpRequest> request, Handler handler,
      long drainSeconds) throws InterruptedException {
    int count = offsetsNanos.length;
    CountDownLatch outstanding = new CountDownLatch(count);
    List<Future<?>> futures = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int index = i;
      long intended = startNanos + offsetsNanos[i];
      Sampler.parkUntil(intended);
      futures.add(vthreads.submit(() -> {
        long lag = System.nanoTime() - intended;
        try {
          HttpResponse<byte[]> response = client.send(request.apply(index), HttpResponse.BodyHandlers.ofByteArray());
          handler.onReply(index, new Reply(lag, System.nanoTime() - intended, response.statusCode(),
              response.headers(), response.body(), ""));
        } catch (InterruptedException e) {
          handler.onReply(index, new Reply(lag, -1, 0, null, null, "interrupted"));
        } catch (Exception e) {
          handler.onReply(index, new Reply(lag, -1, 0, null, null, e.getClass().getSimpleName()));
        } finally {
          outstanding.countDown();
        }
      }));
    }
    boolean allDone = outstanding.await(drainSeconds, TimeUnit.SECONDS);
    if (!allDone) {
      futures.forEach(f -> f.cancel(true));
    }
    return allDone;
  }

  /** Stops every request still running. */
  @Override
  public void close() {
    vthreads.shutdownNow();
  }
}
