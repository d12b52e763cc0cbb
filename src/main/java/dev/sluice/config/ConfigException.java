package dev.sluice.config;

/**
 * An invalid configuration value. The message names the YAML path or environment variable, the value and the
 * legal range, and is fit to show to an operator as the single line explaining why Sluice did not start.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * The YAML path or environment variable the message names: the text before its first {@code ": "}, as every
   * message starts (e.g. {@code pools[0].queue_max_size} of {@code pools[0].queue_max_size: 0 is outside 1..1000000}).
   */
  public String key() {
    String message = getMessage();
    int end = message.indexOf(": ");
    return end < 0 ? "" : message.substring(0, end);
  }
}
