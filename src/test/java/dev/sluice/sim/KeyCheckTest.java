package dev.sluice.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class KeyCheckTest {

  @Test
  void masked_longKey_showsFirstAndLastFour() {
    assertThat(KeyCheck.masked("sk-abcdefghwxyz")).isEqualTo("sk-a****wxyz");
    assertThat(KeyCheck.masked("123456789012")).isEqualTo("1234****9012");
  }

  @Test
  void masked_keyShorterThanTwelve_showsNothing() {
    assertThat(KeyCheck.masked("12345678901")).isEqualTo("****");
    assertThat(KeyCheck.masked("a")).isEqualTo("****");
  }

  @Test
  void bearerKey_readsTheKeyOfTheBearerSchemeOnly() {
    assertThat(KeyCheck.bearerKey("Bearer sk-1")).isEqualTo("sk-1");
    assertThat(KeyCheck.bearerKey("BEARER   sk-1  ")).isEqualTo("sk-1");
    assertThat(KeyCheck.bearerKey("Bearer ")).isNull();
    assertThat(KeyCheck.bearerKey("Bearer    ")).isNull();
    assertThat(KeyCheck.bearerKey("Basic c2stMQ==")).isNull();
    assertThat(KeyCheck.bearerKey("Bearersk-1")).isNull();
    assertThat(KeyCheck.bearerKey(null)).isNull();
  }
}
