package dev.sluice.config;

/** Range checks whose message is derived from the same bounds the check uses. */
final class Bounds {
  private Bounds() {}

  static long check(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new ConfigException(key + ": " + value + " is outside " + min + ".." + max);
    }
    return value;
  }
}
