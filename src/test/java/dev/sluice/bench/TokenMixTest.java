package dev.sluice.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The token benchmark's seeded request sizes and the bodies that carry them. */
class TokenMixTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void sameSeed_sameSizes_otherSeed_otherSizes() {
    TokenMix a = TokenMix.of(200, 42, 100, 4000, 50, 500);
    TokenMix b = TokenMix.of(200, 42, 100, 4000, 50, 500);
    TokenMix c = TokenMix.of(200, 43, 100, 4000, 50, 500);

    for (int i = 0; i < 200; i++) {
      assertThat(b.promptTokens(i)).isEqualTo(a.promptTokens(i));
      assertThat(b.maxTokens(i)).isEqualTo(a.maxTokens(i));
    }
    assertThat(IntStream.range(0, 200).filter(i -> c.promptTokens(i) != a.promptTokens(i)).count()).isPositive();
  }

  @Test
  void sizes_stayInTheirRanges_boundsIncluded_andAverageNearTheMidpoints() {
    TokenMix mix = TokenMix.of(20_000, 7, 1, 3, 10, 11);

    assertThat(IntStream.range(0, 20_000).map(mix::promptTokens).distinct().sorted().toArray())
        .containsExactly(1, 2, 3);
    assertThat(IntStream.range(0, 20_000).map(mix::maxTokens).distinct().sorted().toArray()).containsExactly(10, 11);
    double mean = IntStream.range(0, 20_000).mapToLong(mix::tokens).average().orElseThrow();
    assertThat(mean).isCloseTo(TokenMix.meanTokens(1, 3, 10, 11), org.assertj.core.data.Offset.offset(0.05));
    assertThat(TokenMix.meanTokens(100, 4000, 50, 500)).isEqualTo(2325.0);
  }

  @Test
  void body_carriesFourCharactersPerPromptToken_andTheMaxTokens() throws Exception {
    TokenMix mix = TokenMix.of(3, 42, 100, 4000, 50, 500);

    JsonNode body = JSON.readTree(mix.body(1, "meta/m"));

    assertThat(body.path("model").asText()).isEqualTo("meta/m");
    assertThat(body.path("messages").path(0).path("role").asText()).isEqualTo("user");
    assertThat(body.path("messages").path(0).path("content").asText()).hasSize(4 * mix.promptTokens(1));
    assertThat(body.path("max_tokens").asInt()).isEqualTo(mix.maxTokens(1));
    assertThat(body.has("stream")).isFalse();
    assertThat(mix.tokens(1)).isEqualTo(mix.promptTokens(1) + mix.maxTokens(1));
  }

  @Test
  void aMinimumAboveItsMaximum_isRefused() {
    assertThatThrownBy(() -> TokenMix.of(1, 1, 500, 100, 1, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prompt 500..100");
  }
}
