package dev.sluice.config;

import java.util.Objects;

/**
 * A credential such as an upstream API key. Its {@code toString()} shows only the first four characters, so a
 * secret that ends up in a log line, an exception message or a status document is never disclosed.
 */
public final class Secret {
  private final String value;

  private Secret(String value) {
    this.value = value;
  }

  /** Wraps a non-empty credential. */
  public static Secret of(String value) {
    Objects.requireNonNull(value, "value");
    if (value.isBlank()) {
      throw new IllegalArgumentException("a secret cannot be blank");
    }
    return new Secret(value.strip());
  }

  /** The credential itself; only for the one place that sends it upstream. */
  public String reveal() {
    return value;
  }

  /** First four characters and {@code ****}, e.g. {@code nvap****}. */
  public String masked() {
    return value.substring(0, Math.min(4, value.length())) + "****";
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Secret secret && secret.value.equals(value);
  }

  @Override
  public int hashCode() {
    return value.hashCode();
  }

  @Override
  public String toString() {
    return masked();
  }
}
