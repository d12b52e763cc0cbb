package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sluice.backend.Outcome.Usage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
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

  private static Optional<Usage> usageOf(String contentType, String text, long seed) {
    return feed(UsageSniffer.forContentType(BodyScan.newFactory(), contentType), text, seed).usage();
  }

  /**
   * Feeds {@code text} in random slices, the way chunks arrive from a socket: some as slices of a larger heap
   * array, some as direct buffers (what Jetty's client reads into), some longer than the sniffer's scratch array.
   */
  private static UsageSniffer feed(UsageSniffer sniffer, String text, long seed) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    Random random = new Random(seed);
    int offset = 0;
    while (offset < bytes.length) {
      int n = Math.min(bytes.length - offset, 1 + random.nextInt(random.nextBoolean() ? 40 : 1500));
      ByteBuffer chunk = switch (random.nextInt(3)) {
        case 0 -> ByteBuffer.wrap(bytes, offset, n);
        case 1 -> ByteBuffer.wrap(bytes, offset, n).slice(); // position 0, array offset > 0
        default -> {
          ByteBuffer direct = ByteBuffer.allocateDirect(n + 7);
          direct.position(3).put(bytes, offset, n).flip().position(3);
          yield direct;
        }
      };
      accept(sniffer, chunk);
      offset += n;
    }
    return sniffer;
  }

  /** Hands one chunk to the sniffer, checking that it leaves the chunk as it found it. */
  private static void accept(UsageSniffer sniffer, ByteBuffer chunk) {
    int position = chunk.position();
    int limit = chunk.limit();
    ByteBuffer before = ByteBuffer.allocate(chunk.remaining()).put(chunk.duplicate()).flip();
    sniffer.accept(chunk);
    assertThat(chunk.position()).isEqualTo(position);
    assertThat(chunk.limit()).isEqualTo(limit);
    assertThat(chunk).isEqualTo(before);
  }

  /** Every way of cutting {@code text} into two chunks, and one byte at a time, gives {@code expected}. */
  private static void assertEverySplitFinds(String contentType, String text, Optional<Usage> expected) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    for (int cut = 0; cut <= bytes.length; cut++) {
      UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), contentType);
      accept(sniffer, ByteBuffer.wrap(bytes, 0, cut));
      accept(sniffer, ByteBuffer.wrap(bytes, cut, bytes.length - cut));
      assertThat(sniffer.usage()).as("cut at %d", cut).isEqualTo(expected);
    }
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), contentType);
    for (int i = 0; i < bytes.length; i++) {
      accept(sniffer, ByteBuffer.wrap(bytes, i, 1));
    }
    assertThat(sniffer.usage()).as("one byte at a time").isEqualTo(expected);
  }

  @Test
  void everySplitOfABodyAndOfAStreamFindsTheSameUsage() {
    assertEverySplitFinds("application/json", JSON, Optional.of(new Usage(12, 30, 42)));
    assertEverySplitFinds("text/event-stream", SSE, Optional.of(new Usage(7, 3, 10)));
    assertEverySplitFinds("text/event-stream", SSE.replace("\n", "\r\n"), Optional.of(new Usage(7, 3, 10)));
  }

  @Test
  void prettyPrintedJsonIsFollowedToo() {
    String body = "{\n  \"id\" : \"x\",\n  \"usage\"\t:\r\n  {\n    \"prompt_tokens\" : 3 ,\n"
        + "    \"completion_tokens\" : 4\n  }\n}\n";
    assertEverySplitFinds("application/json", body, Optional.of(new Usage(3, 4, 7)));
  }

  @Test
  void aKeyThatOnlyStartsLikeUsageIsNotUsage() {
    for (String key : new String[] {"usage\\\\", "usage\\\"", "usage ", "usages", "usag", "Usage", "\\u0075sage"}) {
      String body = "{\"" + key + "\":{\"prompt_tokens\":1}}";
      assertEverySplitFinds("application/json", body, Optional.empty());
    }
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void findsTopLevelUsageInAJsonBodySplitAnywhere(long seed) {
    assertThat(usageOf("application/json; charset=utf-8", JSON, seed)).contains(new Usage(12, 30, 42));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void usageLookalikesInStringsValuesAndNestedObjectsAreNotUsage(long seed) {
    String body = "{\"a\":\"usage\",\"b\":{\"x\":1},\"c\":\"he said \\\"usage\\\": {\\\"prompt_tokens\\\":5}\","
        + "\"usage\":null,\"d\":[{\"usage\":{\"prompt_tokens\":9}}],\"e\":[\"usage\",{\"f\":2}]}";
    assertThat(usageOf("application/json", body, seed)).isEmpty();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void findsUsageInTheFinalEventOfAStreamSplitAnywhere(long seed) {
    assertThat(usageOf("text/event-stream", SSE, seed)).contains(new Usage(7, 3, 10));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void findsUsageAfterEventsWithNullUsageAndCrLfLineEnds(long seed) {
    StringBuilder stream = new StringBuilder();
    for (byte[] event : HotPathBenchmark.streamEvents(20)) {
      stream.append(new String(event, StandardCharsets.US_ASCII).replace("\n", "\r\n"));
    }
    assertThat(usageOf("text/event-stream; charset=utf-8", stream.toString(), seed))
        .contains(new Usage(1117, 20, 1137));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void onlyDataLinesAreLookedAt(long seed) {
    String stream = "data:{\"choices\":[],\"usage\":{\"prompt_tokens\":4}}\n\nevent: usage\n"
        + "id: {\"usage\":{\"prompt_tokens\":1}}\n: {\"usage\":{\"prompt_tokens\":2}}\n"
        + "dat: {\"usage\":{\"prompt_tokens\":3}}\n data: {\"usage\":{\"prompt_tokens\":5}}\n"
        + "xdata: {\"usage\":{\"prompt_tokens\":6}}\n\n";
    assertThat(usageOf("text/event-stream", stream, seed)).contains(new Usage(4, 0, 4));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aTruncatedEventDoesNotSpillIntoTheNextOne(long seed) {
    String stream = "data: {\"a\":[{\"b\":\"unterminated\n\n"
        + "data: {\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}\n\n";
    assertThat(usageOf("text/event-stream", stream, seed)).contains(new Usage(5, 6, 11));
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void aUsageObjectOfUpTo64KiBIsReadAndALargerOneIsNot(long seed) {
    String head = "{\"prompt_tokens\":1,\"pad\":\"";
    String atLimit = head + "x".repeat(64 * 1024 - head.length() - 2) + "\"}";
    assertThat(atLimit).hasSize(64 * 1024);
    String overLimit = atLimit.replace("\"pad\":\"", "\"pad\":\"x");
    assertThat(usageOf("application/json", "{\"usage\":" + atLimit + "}", seed)).contains(new Usage(1, 0, 1));
    assertThat(usageOf("application/json", "{\"usage\":" + overLimit + "}", seed)).isEmpty();
    UsageSniffer whole = UsageSniffer.forContentType(BodyScan.newFactory(), "application/json");
    accept(whole, ByteBuffer.wrap(("{\"usage\":" + overLimit + "}").getBytes(StandardCharsets.US_ASCII)));
    assertThat(whole.usage()).isEmpty();
  }

  /**
   * Random JSON documents (nested objects, arrays, strings with escapes and quotes, keys named like usage at
   * every depth, numbers and literals), with or without a top-level usage object, fed in random slices: the
   * sniffer finds exactly what a full parse of the document finds, and tells the usage event (empty choices and a
   * usage object) as a full parse does.
   */
  @ParameterizedTest
  @MethodSource("seeds")
  void agreesWithAFullParseOnRandomDocuments(long seed) throws Exception {
    Random random = new Random(seed);
    ObjectMapper mapper = new ObjectMapper();
    for (int document = 0; document < 40; document++) {
      String json = RandomJson.topLevelObject(random);
      JsonNode usage = mapper.readTree(json).get("usage");
      Usage expected = null;
      if (usage != null && usage.isObject()) {
        long p = usage.path("prompt_tokens").isIntegralNumber() ? usage.get("prompt_tokens").asLong() : -1;
        long c = usage.path("completion_tokens").isIntegralNumber() ? usage.get("completion_tokens").asLong() : -1;
        long t = usage.path("total_tokens").isIntegralNumber() ? usage.get("total_tokens").asLong() : -1;
        if (p >= 0 || c >= 0 || t >= 0) {
          expected = new Usage(Math.max(p, 0), Math.max(c, 0), t >= 0 ? t : Math.max(p, 0) + Math.max(c, 0));
        }
      }
      assertThat(usageOf("application/json", json, random.nextLong())).as(json)
          .isEqualTo(Optional.ofNullable(expected));
      assertThat(usageOf("text/event-stream", "data: {\"choices\":[]}\n\ndata: " + json + "\n\ndata: [DONE]\n\n",
          random.nextLong())).as(json).isEqualTo(Optional.ofNullable(expected));
      JsonNode root = mapper.readTree(json);
      boolean usageEvent = root.path("choices").isArray() && root.get("choices").isEmpty()
          && root.path("usage").isObject();
      UsageSniffer.EventStream events = (UsageSniffer.EventStream) feed(
          UsageSniffer.forContentType(BodyScan.newFactory(), "text/event-stream"), "data: " + json + "\n\n",
          random.nextLong());
      assertThat(events.lastEventWasUsage()).as(json).isEqualTo(usageEvent);
    }
  }

  /** Random JSON text in compact form (what providers send), so that a stream can carry it on one line. */
  private static final class RandomJson {
    private static final String[] KEYS = {"usage", "prompt_tokens", "completion_tokens", "total_tokens", "id",
        "choices", "Usage", "usage ", "usag", "data", "", "\\\"usage\\\"", "usage\\\\", "usages"};

    static String topLevelObject(Random random) {
      StringBuilder json = new StringBuilder("{");
      int fields = random.nextInt(6); // at most KEYS.length - 4 fields besides usage, each key once
      boolean usagePlaced = false;
      for (int i = 0; i < fields; i++) {
        if (i > 0) {
          json.append(',');
        }
        if (!usagePlaced && random.nextInt(3) == 0) {
          usagePlaced = true;
          json.append("\"usage\":");
          if (random.nextInt(4) == 0) {
            value(json, random, 2);
          } else {
            usageObject(json, random);
          }
        } else {
          json.append('"').append(KEYS[4 + i]).append("\":");
          value(json, random, 3);
        }
      }
      return json.append('}').toString();
    }

    private static void usageObject(StringBuilder json, Random random) {
      json.append('{');
      int fields = random.nextInt(5);
      int first = 1 + random.nextInt(KEYS.length - 1);
      for (int i = 0; i < fields; i++) {
        if (i > 0) {
          json.append(',');
        }
        json.append('"').append(KEYS[1 + (first + i) % (KEYS.length - 1)]).append("\":");
        if (random.nextBoolean()) {
          json.append(random.nextInt(100_000));
        } else {
          value(json, random, 2);
        }
      }
      json.append('}');
    }

    private static void value(StringBuilder json, Random random, int depth) {
      switch (depth == 0 ? random.nextInt(4) : random.nextInt(6)) {
        case 0 -> json.append(random.nextInt(2000) - 1000);
        case 1 -> json.append(random.nextBoolean() ? "null" : random.nextBoolean() ? "true" : "1.5e3");
        case 2, 3 -> {
          String[] pieces = {"usage", "\\\"", "\\\\", "{", "}", "[", "]", ":", ",", " ", "x", "\\n", "\\u00e9"};
          json.append('"');
          for (int i = random.nextInt(6); i > 0; i--) {
            json.append(pieces[random.nextInt(pieces.length)]);
          }
          json.append('"');
        }
        case 4 -> {
          json.append('[');
          for (int i = random.nextInt(4); i > 0; i--) {
            value(json, random, depth - 1);
            if (i > 1) {
              json.append(',');
            }
          }
          json.append(']');
        }
        default -> {
          json.append('{');
          int first = random.nextInt(KEYS.length);
          for (int i = random.nextInt(4); i > 0; i--) {
            json.append('"').append(KEYS[(first + i) % KEYS.length]).append("\":");
            if (random.nextInt(3) == 0) {
              usageObject(json, random);
            } else {
              value(json, random, depth - 1);
            }
            if (i > 1) {
              json.append(',');
            }
          }
          json.append('}');
        }
      }
    }
  }

  private static long completionOf(String contentType, String text, long seed) {
    return feed(UsageSniffer.forContentType(BodyScan.newFactory(), contentType), text, seed).completionEstimate();
  }

  @ParameterizedTest
  @MethodSource("seeds")
  void theTextOfAnAnswerWithoutUsageIsMeasuredWhereverItIsCut(long seed) {
    String chat = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":\"" + "x".repeat(41) + "\"}}]}";
    assertThat(completionOf("application/json", chat, seed)).isEqualTo(11);
    String text = "{\"choices\":[{\"text\":\"abcdefgh\",\"index\":0}]}";
    assertThat(completionOf("application/json", text, seed)).isEqualTo(2);
    String tool = "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"function\":"
        + "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]}}]}";
    assertThat(completionOf("application/json", tool, seed)).isEqualTo(5); // 20 bytes of arguments, as escaped
    String stream = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"b\"}}]}\n\n"
        + "data: {\"choices\":[{\"delta\":{\"content\":\"你好\"}}]}\n\n"
        + "data: [DONE]\n\n";
    // Three pieces of text, 8 bytes: one token a piece says more than one per four bytes.
    assertThat(completionOf("text/event-stream", stream, seed)).isEqualTo(3);
  }

  @Test
  void whatIsNotTheAnswersTextIsNotMeasured() {
    String embedding = "{\"object\":\"list\",\"data\":[{\"embedding\":[0.1,-0.2],\"index\":0}],\"model\":\"e\"}";
    assertThat(completionOf("application/json", embedding, 1)).isZero();
    String notText = "{\"content\":\"top level\",\"choices\":[{\"message\":{\"content\":[\"a list\"],"
        + "\"contents\":\"other key\",\"text\":7,\"Content\":\"case\",\"con\\u0074ent\":\"escaped key\"}}]}";
    assertThat(completionOf("application/json", notText, 1)).isZero();
  }

  @Test
  void aTextCutShortCountsAsFarAsItCame() {
    UsageSniffer sniffer = UsageSniffer.forContentType(BodyScan.newFactory(), "text/event-stream");
    accept(sniffer, ByteBuffer.wrap("data: {\"choices\":[{\"delta\":{\"content\":\"abcdefghi".getBytes(
        StandardCharsets.US_ASCII)));
    assertThat(sniffer.completionEstimate()).isEqualTo(3);
  }

  @Test
  void streamWithoutUsageHasNone() {
    assertThat(usageOf("text/event-stream", "data: {\"choices\":[]}\n\ndata: [DONE]\n\n", 1)).isEmpty();
  }

  @Test
  void otherContentTypesAreIgnored() {
    assertThat(usageOf("text/plain", JSON, 1)).isEmpty();
  }

  @Test
  void aMalformedUsageObjectYieldsNoUsageAndNoError() {
    for (String usage : new String[] {"{\"prompt_tokens\":}", "{\"prompt_tokens\":1 2}", "{\"prompt_tokens\" 1}",
        "{prompt_tokens:1}", "{\"prompt_tokens\":1,}", "{\"prompt_tokens\":[1}"}) {
      assertEverySplitFinds("application/json", "{\"usage\":" + usage + "}", Optional.empty());
    }
    assertEverySplitFinds("application/json", "}}]]{\"usage\":{\"prompt_tokens\":1}}", Optional.empty());
  }

  @Test
  void junkAfterAFinishedDocumentDoesNotLoseItsUsage() {
    assertThat(usageOf("application/json", "{\"usage\":{\"prompt_tokens\":1}}}}}garbage", 3))
        .contains(new Usage(1, 0, 1));
  }
}
