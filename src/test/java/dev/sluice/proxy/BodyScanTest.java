package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
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
}
