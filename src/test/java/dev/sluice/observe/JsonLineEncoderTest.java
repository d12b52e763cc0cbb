package dev.sluice.observe;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class JsonLineEncoderTest {
  private final LoggerContext context = new LoggerContext();
  private final JsonLineEncoder encoder = new JsonLineEncoder();

  static Stream<Long> instants() {
    return Stream.of(0L, 7L, 999L, 1_000L, 1_795_450_893_007L, 1_795_450_893_120L, 1_795_450_894_999L);
  }

  @ParameterizedTest
  @MethodSource("instants")
  void timestampIsIsoUtcWithMillisecondsForEveryInstantInAnyOrder(long epochMillis) throws Exception {
    // A later second first, so the cached prefix must be replaced, not reused.
    encode(epochMillis + 86_400_000L, "warm");
    JsonNode line = encode(epochMillis, "x");
    assertThat(line.get("ts").asText())
        .isEqualTo(Instant.ofEpochMilli(epochMillis).toString().replaceFirst("Z$", "")
            .replaceFirst("^([^.]*)$", "$1.000") + "Z");
  }

  @ParameterizedTest
  @MethodSource("messages")
  void messagesRoundTripThroughJsonWhateverTheyContain(String message) throws Exception {
    assertThat(encode(1_000L, message).get("msg").asText()).isEqualTo(message);
  }

  static Stream<String> messages() {
    return Stream.of("plain", "quote \" and backslash \\", "line\nbreak\ttab", "\u0001control", "é ✓ unicode", "");
  }

  private JsonNode encode(long epochMillis, String message) throws Exception {
    LoggingEvent event = new LoggingEvent(getClass().getName(), context.getLogger("t"), Level.INFO, message, null,
        null);
    event.setTimeStamp(epochMillis);
    String line = new String(encoder.encode(event), StandardCharsets.UTF_8);
    assertThat(line).endsWith("}\n");
    return new ObjectMapper().readTree(line);
  }
}
