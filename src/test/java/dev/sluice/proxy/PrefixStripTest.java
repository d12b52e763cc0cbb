package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PrefixStripTest {

  /** A JSON string's content as written (no quotes), and what is left of it after the prefix. */
  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "a/b           | b",
      "a\\/b         | b",
      "a\\u002Fb     | b",
      "a\\u002fb     | b",
      "a\\\\/b       | b",
      "\\\"a\\\"/b/c | b/c",
      "a\\u0030/b    | b",
      "a\\u2F00b/c   | c",
      "a\\\\u002Fb/c | c",
      "/b            | b",
      "a/            | ``"})
  void jsonStringLosesEverythingUpToItsFirstSlash(String content, String rest) {
    byte[] json = content.getBytes(StandardCharsets.UTF_8);

    int after = PrefixStrip.afterJsonSlash(json, 0, json.length);

    assertThat(new String(json, after, json.length - after, StandardCharsets.UTF_8)).isEqualTo(rest);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"abc", "a\\u002Eb", "a\\\\u002F"})
  void jsonStringWithoutASlashHasNoPrefix(String content) {
    byte[] json = content.getBytes(StandardCharsets.UTF_8);

    assertThat(PrefixStrip.afterJsonSlash(json, 0, json.length)).isEqualTo(-1);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
      "/v1/models/a/b       | b",
      "/v1/models/a%2Fb     | b",
      "/v1/models/a%2fb%2Fc | b%2Fc",
      "/v1/models/a%252Fb/c | c",
      "/v1/models/a%2       | ``"})
  void pathLosesEverythingUpToItsFirstSlashOrEncodedSlash(String path, String rest) {
    int after = PrefixStrip.afterPathSlash(path, "/v1/models/".length());

    assertThat(after < 0 ? "" : path.substring(after)).isEqualTo(rest);
  }
}
