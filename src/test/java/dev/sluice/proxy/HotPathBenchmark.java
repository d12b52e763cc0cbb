package dev.sluice.proxy;

import com.fasterxml.jackson.core.JsonFactory;
import dev.sluice.backend.Outcome.Usage;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH microbenchmarks of the code Sluice runs on every request besides Jetty's: scanning the request body for
 * {@code model}, {@code stream} and the token limits, building the upstream target, sniffing {@code usage} out of a
 * JSON answer and out of a stream, and removing the usage event from a stream whose usage Sluice asked for. Run with {@code bench/jmh.sh} (see BENCHMARKS.md); surefire does not run it.
 *
 * <p>The payloads have the shape of OpenAI's: a chat request, a chat completion with usage details, and the 52
 * events of a 50-token stream that asked for {@code stream_options.include_usage}, where every chunk carries
 * {@code "usage":null} and the last one the counts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseSerialGC", "-Xmx256m"})
public class HotPathBenchmark {
  static final byte[] CHAT_REQUEST = ascii("""
      {"model":"nvidia/meta/llama-3.1-8b-instruct","messages":[{"role":"system","content":"You are terse."},\
      {"role":"user","content":"Say hello to the benchmark."}],"temperature":0.2,"max_tokens":256,"stream":false}""");

  static final byte[] CHAT_COMPLETION = ascii("""
      {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,\
      "model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant",\
      "content":"Hello, \\"benchmark\\"! How can I help you today?","refusal":null,"annotations":[]},\
      "logprobs":null,"finish_reason":"stop"}],\
      "usage":{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":\
      {"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,\
      "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default",\
      "system_fingerprint":"fp_fc9f1d7035"}""");

  static final byte[][] STREAM_EVENTS = streamEvents(50);

  static final URI BASE = URI.create("http://127.0.0.1:9300/v1");

  private final JsonFactory factory = BodyScan.newFactory();
  private final ByteBuffer completion = ByteBuffer.wrap(CHAT_COMPLETION);
  private final ByteBuffer[] events = wrapAll(STREAM_EVENTS);

  @Benchmark
  public BodyScan scanChatRequest() {
    return BodyScan.scan(factory, CHAT_REQUEST, CHAT_REQUEST.length);
  }

  @Benchmark
  public URI upstreamTarget() {
    return URI.create(UpstreamUri.join(BASE, "/v1/chat/completions", null));
  }

  @Benchmark
  public Optional<Usage> sniffChatCompletion() {
    UsageSniffer sniffer = UsageSniffer.forContentType(factory, "application/json");
    sniffer.accept(completion);
    return sniffer.usage();
  }

  /** A whole 50-token stream, one event per network chunk as a paced stream arrives. */
  @Benchmark
  public Optional<Usage> sniffStream() {
    UsageSniffer sniffer = UsageSniffer.forContentType(factory, "text/event-stream");
    for (ByteBuffer event : events) {
      sniffer.accept(event);
    }
    return sniffer.usage();
  }

  /**
   * The same stream as {@link #sniffStream}, relayed by a pool that asked for its usage on the caller's behalf:
   * the sniffing, plus working out what of each chunk goes to the caller (all of it, as a slice, but for the usage
   * event).
   */
  @Benchmark
  public int stripUsageEvent() {
    UsageEventStrip strip = new UsageEventStrip(new UsageSniffer.EventStream(factory));
    int parts = 0;
    for (ByteBuffer event : events) {
      parts += strip.plan(event);
    }
    return parts;
  }

  static byte[][] streamEvents(int tokens) {
    byte[][] events = new byte[tokens + 2][];
    String head = "data: {\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\","
        + "\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
        + "\"system_fingerprint\":\"fp_fc9f1d7035\",\"choices\":[";
    for (int i = 0; i < tokens; i++) {
      events[i] = ascii(head + "{\"index\":0,\"delta\":{\"content\":\" token" + i + "\"},\"logprobs\":null,"
          + "\"finish_reason\":" + (i == tokens - 1 ? "\"stop\"" : "null") + "}],\"usage\":null}\n\n");
    }
    events[tokens] = ascii(head + "],\"usage\":{\"prompt_tokens\":1117,\"completion_tokens\":" + tokens
        + ",\"total_tokens\":" + (1117 + tokens) + ",\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n");
    events[tokens + 1] = ascii("data: [DONE]\n\n");
    return events;
  }

  private static ByteBuffer[] wrapAll(byte[][] chunks) {
    ByteBuffer[] buffers = new ByteBuffer[chunks.length];
    for (int i = 0; i < chunks.length; i++) {
      buffers[i] = ByteBuffer.wrap(chunks[i]);
    }
    return buffers;
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }
}
