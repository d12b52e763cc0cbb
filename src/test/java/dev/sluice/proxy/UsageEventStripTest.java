package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Outcome.Usage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UsageEventStripTest {
  private static final String HEAD = "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",";
  private static final String TEXT_EVENT = "data: " + HEAD
      + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}],\"usage\":null}\n\n";
  private static final String USAGE_EVENT = "data: " + HEAD
      + "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3,\"total_tokens\":12}}\n\n";
  private static final String DONE_EVENT = "data: [DONE]\n\n";
  private static final String STREAM = TEXT_EVENT + ": keep-alive\n\n" + TEXT_EVENT + USAGE_EVENT + DONE_EVENT;
  private static final String STRIPPED = TEXT_EVENT + ": keep-alive\n\n" + TEXT_EVENT + DONE_EVENT;

  /** What the caller gets of {@code stream} cut at {@code cuts}, and the sniffer's usage. */
  private record Relayed(String text, java.util.Optional<Usage> usage) {}

  private static Relayed relay(String stream, boolean direct, int... cuts) {
    byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
    UsageSniffer.EventStream events = new UsageSniffer.EventStream(BodyScan.newFactory());
    UsageEventStrip strip = new UsageEventStrip(events);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int from = 0;
    List<Integer> ends = new ArrayList<>();
    for (int cut : cuts) {
      ends.add(cut);
    }
    ends.add(bytes.length);
    for (int to : ends) {
      ByteBuffer chunk = chunk(bytes, from, to, direct);
      int position = chunk.position();
      int parts = strip.plan(chunk);
      assertThat(chunk.position()).isEqualTo(position);
      for (int i = 0; i < parts; i++) {
        ByteBuffer part = strip.part(i).duplicate();
        byte[] copy = new byte[part.remaining()];
        part.get(copy);
        out.writeBytes(copy);
      }
      from = to;
    }
    ByteBuffer rest = strip.endOfStream();
    byte[] copy = new byte[rest.remaining()];
    rest.get(copy);
    out.writeBytes(copy);
    return new Relayed(out.toString(StandardCharsets.UTF_8), events.usage());
  }

  /** {@code bytes[from, to)} as a chunk: a slice of a larger heap array, or a direct buffer at a position. */
  private static ByteBuffer chunk(byte[] bytes, int from, int to, boolean direct) {
    if (!direct) {
      return ByteBuffer.wrap(bytes, from, to - from);
    }
    ByteBuffer buffer = ByteBuffer.allocateDirect(to - from + 5);
    buffer.position(5).put(bytes, from, to - from).flip().position(5);
    return buffer;
  }

  @Test
  void everyCutOfTheStreamRemovesTheUsageEventAndNothingElse() {
    int length = STREAM.length();
    for (boolean direct : new boolean[] {false, true}) {
      for (int cut = 0; cut <= length; cut++) {
        Relayed relayed = relay(STREAM, direct, cut);
        assertThat(relayed.text()).as("cut at %d, direct %s", cut, direct).isEqualTo(STRIPPED);
        assertThat(relayed.usage()).contains(new Usage(9, 3, 12));
      }
    }
  }

  @Test
  void everyTwoCutsAroundAndInsideTheUsageEventRemoveIt() {
    int usageStart = STREAM.indexOf(USAGE_EVENT);
    for (int first = usageStart - 3; first <= usageStart + USAGE_EVENT.length(); first++) {
      for (int second = first; second <= STREAM.length(); second++) {
        assertThat(relay(STREAM, second % 2 == 0, first, second).text()).as("cuts at %d and %d", first, second)
            .isEqualTo(STRIPPED);
      }
    }
  }

  @Test
  void oneByteAtATimeAndWithCrLfLineEndsToo() {
    String crlf = STREAM.replace("\n", "\r\n");
    int[] everyByte = new int[crlf.length() - 1];
    for (int i = 0; i < everyByte.length; i++) {
      everyByte[i] = i + 1;
    }
    assertThat(relay(crlf, false, everyByte).text()).isEqualTo(STRIPPED.replace("\n", "\r\n"));
    assertThat(relay(crlf, true, 100, 101, 350).text()).isEqualTo(STRIPPED.replace("\n", "\r\n"));
  }

  @Test
  void aUsageEventTheUpstreamDidNotEndIsRemovedAtTheEndOfTheStream() {
    String unended = TEXT_EVENT + USAGE_EVENT.strip();
    assertThat(relay(unended, false, 30).text()).isEqualTo(TEXT_EVENT);
    String unendedText = USAGE_EVENT + "data: [DONE]";
    assertThat(relay(unendedText, false, 30).text()).isEqualTo("data: [DONE]");
  }

  @Test
  void eventsThatAreNotTheUsageEventPass() {
    // Usage in every chunk with choices (continuous usage), a usage of null, choices that are not empty, and a
    // usage that is not an object: none is the usage event.
    String stream = "data: {\"choices\":[{\"delta\":{}}],\"usage\":{\"total_tokens\":3}}\n\n"
        + "data: {\"choices\":[],\"usage\":null}\n\n"
        + "data: {\"choices\":[ 1 ],\"usage\":{\"total_tokens\":4}}\n\n"
        + "data: {\"choices\":[],\"usage\":7}\n\n"
        + "event: usage\ndata: {\"choices\":{},\"usage\":{\"total_tokens\":5}}\n\n";
    for (int cut = 0; cut <= stream.length(); cut++) {
      assertThat(relay(stream, false, cut).text()).isEqualTo(stream);
    }
  }

  @Test
  void theUsageEventIsRecognisedWhateverItsSpacingAndOrder() {
    String event = "data:{ \"usage\" : {\"total_tokens\":2} , \"choices\" : [ \t ] }\n\n";
    assertThat(relay(TEXT_EVENT + event + DONE_EVENT, false, 90).text()).isEqualTo(TEXT_EVENT + DONE_EVENT);
  }

  @Test
  void completeEventsGoAsSlicesOfTheChunkWithoutACopy() {
    byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
    UsageEventStrip strip = new UsageEventStrip(new UsageSniffer.EventStream(BodyScan.newFactory()));
    int firstTwo = (TEXT_EVENT + ": keep-alive\n\n").length();
    ByteBuffer chunk = ByteBuffer.wrap(bytes, 0, firstTwo + 10);

    assertThat(strip.plan(chunk)).isEqualTo(1);
    assertThat(strip.part(0).array()).isSameAs(bytes);
    assertThat(strip.part(0).remaining()).isEqualTo(firstTwo);
  }

  @Test
  void anEventLongerThanTheHoldPassesAsItComes() {
    String big = "data: {\"choices\":[{\"delta\":{\"content\":\"" + "x".repeat(UsageEventStrip.MAX_HELD_BYTES)
        + "\"}}]}\n\n";
    String stream = TEXT_EVENT + big + USAGE_EVENT + DONE_EVENT;
    int bigStart = TEXT_EVENT.length();
    assertThat(relay(stream, false, bigStart + 10, bigStart + 30_000, bigStart + 65_000).text())
        .isEqualTo(TEXT_EVENT + big + DONE_EVENT);
    assertThat(relay(stream, true, bigStart + 10).text()).isEqualTo(TEXT_EVENT + big + DONE_EVENT);
  }
}
