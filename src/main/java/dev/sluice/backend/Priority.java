package dev.sluice.backend;

import java.util.Locale;

/**
 * A request's priority, from the {@code X-Priority} header. Strict between levels (every waiting {@code urgent}
 * goes before any {@code high}), FIFO within one.
 */
public enum Priority {
  URGENT, HIGH, NORMAL, LOW;

  /** Name of the request header that carries the priority; never forwarded upstream. */
  public static final String HEADER = "X-Priority";

  /** Parses a header value case-insensitively; missing or unknown values mean {@link #NORMAL}. */
  public static Priority fromHeader(String value) {
    if (value == null) {
      return NORMAL;
    }
    return switch (value.strip().toLowerCase(Locale.ROOT)) {
      case "urgent" -> URGENT;
      case "high" -> HIGH;
      case "low" -> LOW;
      default -> NORMAL;
    };
  }

  /** Lower-case name, as written in the header, logs and metrics labels. */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
