package dev.sluice.config;

/**
 * An invalid configuration value. The message names the YAML path or environment variable, the value and the
 * legal range, and is fit to show to an operator as the single line explaining why Sluice did not start.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  /**
   * @param key the YAML path or environment variable at fault, e.g. {@code pools[0].queue_max_size}
   * @param detail what is wrong with it; the message is {@code key + ": " + detail}
   */
  public ConfigException(String key, String detail) {
    this(key, detail, null);
  }

  public ConfigException(String key, String detail, Throwable cause) {
    super(key + ": " + detail, cause);
    this.key = key;
  }

  private ConfigException(String message, Throwable cause, boolean keyless) {
    super(message, cause);
    this.key = "";
  }

  /** A problem that no single key names, such as a file that is not YAML at all; {@link #key()} is empty. */
  static ConfigException withoutKey(String message) {
    return new ConfigException(message, null, /* keyless= */ true);
  }

  /**
   * The YAML path or environment variable the message names (e.g. {@code pools[0].queue_max_size} of
   * {@code pools[0].queue_max_size: 0 is outside 1..1000000}), or empty when the problem has none.
   */
  public String key() {
    return key;
  }
}
