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
}
