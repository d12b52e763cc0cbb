package dev.sluice.proxy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.backend.Attempt;
import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RemainingHeaderTest {

  @ParameterizedTest
  @CsvSource(nullValues = "none", value = {
      "0, 0",
      "12, 12",
      "' 7 ', 7",
      "none, -1",
      "'', -1",
      "-3, -1",
      "lots, -1",
      "1.5, -1"})
  void readsTheCountOrSaysItIsAbsent(String value, long expected) {
    HttpFields.Mutable headers = HttpFields.build();
    if (value != null) {
      headers.put(RemainingHeader.REQUESTS, value);
    }

    assertThat(RemainingHeader.of(headers, RemainingHeader.REQUESTS)).isEqualTo(expected == -1 ? Attempt.ABSENT
        : expected);
  }
}
