package dev.sluice.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Legal ranges shared by the environment and the YAML file, and the checks whose messages are derived from the same
 * bounds the check uses.
 */
final class Bounds {
  static final int MAX_PORT = 65_535;
  static final int MAX_TIMEOUT_SECONDS = 3_600;
  static final int MAX_RATE_RPM = 100_000;
  static final int MAX_CAPACITY = 100_000;
  static final int MAX_QUEUE_SIZE = 1_000_000;
  static final int MAX_ATTEMPTS = 10;
  static final long MIN_BODY_BYTES = 1_024;
  static final long MAX_BODY_BYTES = 1L << 30;
  static final int MAX_CONNECTIONS = 100_000;

  private Bounds() {}

  static long check(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new ConfigException(key, value + " is outside " + min + ".." + max);
    }
    return value;
  }

  /** An absolute http(s) URL without query or fragment. */
  static URI httpUrl(String key, String value) {
    try {
      URI uri = new URI(value.strip());
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
        throw new ConfigException(key, value + " is not an absolute http(s) URL");
      }
      if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
        throw new ConfigException(key, value + " must not have a query or fragment");
      }
      return uri;
    } catch (URISyntaxException e) {
      throw new ConfigException(key, value + " is not an absolute http(s) URL");
    }
  }
}
