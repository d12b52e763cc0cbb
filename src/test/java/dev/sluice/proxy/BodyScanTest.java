package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class BodyScanTest {
  private final JsonFactory factory = BodyScan.newFactory();

  private BodyScan scan(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return BodyScan.scan(factory, bytes, bytes.length);
  }

  @Test
  void findsTopLevelModelAndStreamAndTheModelsOffsets() {
    String json = "{\"messages\":[{\"model\":\"inner\",\"stream\":false}],\"model\":\"nvidia/llama\",\"stream\":true}";
    BodyScan scan = scan(json);
    assertThat(scan.wellFormed()).isTrue();
    assertThat(scan.model()).isEqualTo("nvidia/llama");
    assertThat(scan.stream()).isTrue();
    assertThat(json.substring(scan.modelStart(), scan.modelEnd())).isEqualTo("\"nvidia/llama\"");
  }

  @Test
  void offsetsAreInBytesWhenTheBodyHasMultiByteCharacters() {
    String json = "{\"messages\":[{\"content\":\"héllo → ✓\"}],\"model\":\"nvidia/ünïcode\"}";
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    BodyScan scan = BodyScan.scan(factory, bytes, bytes.length);
    assertThat(new String(bytes, scan.modelStart(), scan.modelEnd() - scan.modelStart(), StandardCharsets.UTF_8))
        .isEqualTo("\"nvidia/ünïcode\"");
  }

  @Test
  void oddNumberLiteralsAndUnknownFieldsAreFine() {
    BodyScan scan = scan("{\"x\":1e400,\"y\":-0.0,\"z\":123456789012345678901234567890,\"model\":\"m\",\"w\":{\"a\":[null,true]}}");
    assertThat(scan.wellFormed()).isTrue();
    assertThat(scan.model()).isEqualTo("m");
    assertThat(scan.stream()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "[]", "{", "{\"model\":}", "{\"model\":\"a\"} trailing", "{\"model\":\"a\",}", "nope", "\"str\""})
  void malformedBodiesAreReported(String json) {
    assertThat(scan(json).wellFormed()).isFalse();
  }

  @Test
  void modelThatIsNotAStringIsAbsent() {
    assertThat(scan("{\"model\":42}").model()).isNull();
  }

  static Stream<Long> seeds() {
    return IntStream.range(0, 20).mapToObj(i -> 1_000L + i);
  }

  /** Random truncations of a valid body are never mistaken for well-formed ones. */
  @ParameterizedTest
  @MethodSource("seeds")
  void truncatedBodiesAreMalformed(long seed) {
    String json = "{\"model\":\"nvidia/x\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"stream\":true}";
    int cut = 1 + new Random(seed).nextInt(json.length() - 1);
    byte[] bytes = json.substring(0, cut).getBytes(StandardCharsets.UTF_8);
    assertThat(BodyScan.scan(factory, bytes, bytes.length).wellFormed()).isFalse();
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"model\":\"m\"} | -1",
      "{\"model\":\"m\",\"max_tokens\":200} | 200",
      "{\"max_completion_tokens\":300,\"model\":\"m\"} | 300",
      "{\"max_tokens\":500,\"max_completion_tokens\":300} | 500",
      "{\"max_tokens\":0} | 0",
      "{\"max_tokens\":-5,\"max_completion_tokens\":40} | 40",
      "{\"max_tokens\":12.5} | -1",
      "{\"max_tokens\":\"100\"} | -1",
      "{\"max_tokens\":null} | -1",
      "{\"max_tokens\":[100]} | -1",
      "{\"max_tokens\":123456789012345678901234567890} | 9223372036854775807",
      "{\"messages\":[{\"max_tokens\":7}],\"model\":\"m\"} | -1"})
  void findsTheLargerOfTheTopLevelTokenLimits(String json, long expected) {
    assertThat(scan(json).maxTokens()).isEqualTo(expected);
  }

  /** The body as edited to ask for the stream's usage, or the body unchanged when it asks already or cannot be. */
  private String askedForUsage(String json) {
    byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
    return scan(json).streamOptions().askForUsage()
        .map(splice -> new String(Splice.apply(bytes, bytes.length, splice), StandardCharsets.UTF_8)).orElse(json);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"model\":\"m\",\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}",
      "' \n{ \"stream\" : true }' | ' \n{\"stream_options\":{\"include_usage\":true}, \"stream\" : true }'",
      "{\"stream\":true,\"stream_options\":{}}"
          + " | {\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
      "{\"stream\":true,\"stream_options\":{ }}"
          + " | {\"stream\":true,\"stream_options\":{\"include_usage\":true }}",
      "{\"stream_options\":{\"continuous_usage_stats\":false},\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true,\"continuous_usage_stats\":false},\"stream\":true}",
      "{\"stream_options\":{\"include_usage\":false},\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true},\"stream\":true}",
      "{\"stream_options\":{\"include_usage\":null,\"x\":1}}"
          + " | {\"stream_options\":{\"include_usage\":true,\"x\":1}}",
      "{\"stream_options\":null,\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true},\"stream\":true}",
      "{\"stream_options\":{\"include_usage\":true},\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true},\"stream\":true}",
      "{\"stream_options\":\"usage\",\"stream\":true} | {\"stream_options\":\"usage\",\"stream\":true}",
      "{\"stream_options\":{\"include_usage\":\"false\"}} | {\"stream_options\":{\"include_usage\":\"false\"}}",
      "{\"messages\":[{\"stream_options\":{}}],\"stream\":true}"
          + " | {\"stream_options\":{\"include_usage\":true},\"messages\":[{\"stream_options\":{}}],"
          + "\"stream\":true}"})
  void asksForTheStreamsUsageWithOneSpliceLeavingEveryOtherByte(String json, String expected) throws Exception {
    String edited = askedForUsage(json);
    assertThat(edited).isEqualTo(expected);
    assertThat(scan(edited).wellFormed()).isTrue();
  }

  @Test
  void theCallerAskingForUsageIsToldApart() {
    assertThat(scan("{\"stream_options\":{\"include_usage\":true}}").streamOptions().kind())
        .isEqualTo(BodyScan.StreamOptions.Kind.ASKED);
    assertThat(scan("{\"stream_options\":{\"include_usage\":false}}").streamOptions().kind())
        .isEqualTo(BodyScan.StreamOptions.Kind.NOT_ASKED);
    assertThat(scan("{\"stream_options\":[]}").streamOptions().kind())
        .isEqualTo(BodyScan.StreamOptions.Kind.UNEDITABLE);
  }

  @Test
  void splicesApplyInOrderOfOffsetAndRefuseToOverlap() {
    byte[] body = "{\"model\":\"nvidia/m\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);
    Splice insert = new Splice(1, 1, "\"a\":1,".getBytes(StandardCharsets.UTF_8));
    Splice cut = Splice.cut(10, 17);
    assertThat(new String(Splice.apply(body, body.length, cut, insert), StandardCharsets.UTF_8))
        .isEqualTo("{\"a\":1,\"model\":\"m\",\"stream\":true}");
    assertThatThrownBy(() -> Splice.apply(body, body.length, Splice.cut(2, 8), Splice.cut(5, 9)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
