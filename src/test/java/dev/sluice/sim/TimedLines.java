package dev.sluice.sim;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sluice.time.ManualClock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Sends one streamed request and reads the answer on its own thread, noting when each part arrived by the manual
 * clock, counted from the moment the request was sent: {@code +0ms 200} (the status, when the headers arrive), one
 * line per event ({@code +100ms "Sluice"} for a token's text, {@code +120ms finish_reason=stop}, {@code +120ms usage},
 * {@code +120ms [DONE]}) and {@code +120ms end} when the answer is complete. A test that advances the clock only
 * after taking what the last advance let through reads, in these stamps, exactly when each part was sent.
 * Thread-safe: one reader thread adds, the test thread takes.
 */
final class TimedLines {
  private static final Duration AWAIT_LIMIT = Duration.ofSeconds(30);

  private final ManualClock clock;
  private final long sentNanos;
  private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

  TimedLines(SimClient client, HttpRequest request, ManualClock clock) {
    this.clock = clock;
    this.sentNanos = clock.nanoTime();
    Thread.ofVirtual().name("timed-lines").start(() -> read(client, request));
  }

  private void read(SimClient client, HttpRequest request) {
    try {
      HttpResponse<Stream<String>> response = client.sendLines(request);
      lines.add(stamp(Integer.toString(response.statusCode())));
      try (Stream<String> body = response.body()) {
        body.filter(line -> !line.isEmpty()).forEach(line -> lines.add(stamp(describe(line))));
      }
      lines.add(stamp("end"));
    } catch (IOException | UncheckedIOException | InterruptedException e) {
      lines.add(stamp("failed: " + e));
    }
  }

  private String stamp(String what) {
    return "+" + Duration.ofNanos(clock.nanoTime() - sentNanos).toMillis() + "ms " + what;
  }

  private static String describe(String line) {
    if (!line.startsWith("data: {")) {
      return line.startsWith("data: ") ? line.substring("data: ".length()) : "not an event: " + line;
    }
    try {
      JsonNode event = SimClient.MAPPER.readTree(line.substring("data: ".length()));
      JsonNode choices = event.get("choices");
      if (choices.isEmpty()) {
        return "usage";
      }
      JsonNode choice = choices.get(0);
      if (!choice.get("finish_reason").isNull()) {
        return "finish_reason=" + choice.get("finish_reason").asText();
      }
      JsonNode text = choice.has("delta") ? choice.get("delta").get("content") : choice.get("text");
      return "\"" + text.asText() + "\"";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The next part, waiting at most 30 s of real time for it. */
  String next() throws InterruptedException {
    String line = lines.poll(AWAIT_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    if (line == null) {
      throw new AssertionError("nothing arrived within " + AWAIT_LIMIT);
    }
    return line;
  }

  /** The parts that have arrived and not yet been taken by {@link #next}. */
  List<String> received() {
    List<String> received = new ArrayList<>();
    lines.drainTo(received);
    return received;
  }
}
