package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Outcome.Usage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class UsageSnifferTest {
  private static final String JSON = "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"usage: {no}\"},"
      + "\"usage\":{\"prompt_tokens\":999}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":30,"
      + "\"total_tokens\":42,\"details\":{\"cached_tokens\":5}},\"tail\":[1,2]}";
  private static final String SSE = "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
      + ": comment\n\n"
      + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n"
      + "data: [DONE]\n\n";

  static Stream<Long> seeds() {
    return IntStream.range(0, 25).mapToObj(i -> 77L * i + 5);
  }

  /** Feeds {@code text} in random slices, the way chunks arrive from a socket. */
  private static UsageSniffer feed(UsageSniffer sniffer, String text, long seed) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    Random random = new Random(seed);
    int offset = 0;
    while (offset < bytes.length) {
      int n = Math.min(bytes.length - offset, 1 + random.nextInt(40));
      ByteBuffer chunk = ByteBuffer.wrap(bytes, offset, n);
      int before = chunk.position();
      sniffer.accept(chunk);
      assertThat(chunk.position()).isEqualTo(before);
      offset += n;
    }
    return sniffer;
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void findsTopLevelUsageInAJsonBodySplitAnywhere(long seed) {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "application/json; charset=utf-8");
    assertThat(feed(sniffer, JSON, seed).usage()).contains(new Usage(12, 30, 42));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void usageLookalikesInStringsValuesAndNestedObjectsAreNotUsage(long seed) {
    String body = "{\"a\":\"usage\",\"b\":{\"x\":1},\"c\":\"he said \\\"usage\\\": {\\\"prompt_tokens\\\":5}\","
        + "\"usage\":null,\"d\":[{\"usage\":{\"prompt_tokens\":9}}],\"e\":[\"usage\",{\"f\":2}]}";
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "application/json");
    assertThat(feed(sniffer, body, seed).usage()).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void findsUsageInTheFinalEventOfAStreamSplitAnywhere(long seed) {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "text/event-stream");
    assertThat(feed(sniffer, SSE, seed).usage()).contains(new Usage(7, 3, 10));
  }

  @Test
  void streamWithoutUsageHasNone() {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "text/event-stream");
    assertThat(feed(sniffer, "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", 1).usage()).isEmpty();
  }

  @Test
  void otherContentTypesAreIgnored() {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "text/plain");
    assertThat(feed(sniffer, JSON, 1).usage()).isEmpty();
  }

  @Test
  void malformedJsonYieldsNoUsageAndNoError() {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "application/json");
    assertThat(feed(sniffer, "{\"usage\":{\"prompt_tokens\":1}}}}}garbage", 3).usage())
        .contains(new Usage(1, 0, 1));
  }
}
