package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UpstreamUriTest {

  @ParameterizedTest(name = "{0} + {1}")
  @CsvSource(delimiter = '|', nullValues = "null", textBlock = """
      https://h/v1        | /v1/chat/completions | null        | https://h/v1/chat/completions
      https://h/v1/       | /v1/chat/completions | null        | https://h/v1/chat/completions
      https://h/v1        | /chat/completions    | null        | https://h/v1/chat/completions
      https://h           | /v1/models           | null        | https://h/v1/models
      http://h:9300/v1    | /v1                  | null        | http://h:9300/v1
      http://h:9300/api/v1| /v1/models/a/b       | x=1&y=%20   | http://h:9300/api/v1/models/a/b?x=1&y=%20
      http://h/openai     | /v1/embeddings       | null        | http://h/openai/v1/embeddings
      http://h/v1         | /v1beta/x            | null        | http://h/v1/v1beta/x
      """)
  void joiningNeverDoublesV1(String base, String path, String query, String expected) {
    assertThat(UpstreamUri.join(URI.create(base), path, query)).isEqualTo(expected);
  }
}
