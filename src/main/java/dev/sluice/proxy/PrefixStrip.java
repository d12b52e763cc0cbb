package dev.sluice.proxy;

/**
 * Finds where a model's provider prefix ends (just past its first {@code /}) in the model as the caller wrote it,
 * so that {@code strip_prefix} removes the prefix and keeps the rest byte for byte, never decoding and re-encoding
 * it. In a JSON string the slash may be written {@code /}, {@code \/} or <code>&#92;u002F</code>; in a URL path
 * {@code /} or {@code %2F}. Escapes before the slash are skipped whole. Stateless.
 */
final class PrefixStrip {
  private static final int SLASH = '/';

  private PrefixStrip() {}

  /**
   * The offset just past the first slash of a JSON string's content {@code json[from, to)} (inside the quotes, well
   * formed), or -1 when there is none.
   */
  static int afterJsonSlash(byte[] json, int from, int to) {
    int i = from;
    while (i < to) {
      int b = json[i];
      if (b == SLASH) {
        return i + 1;
      }
      if (b != '\\') {
        i++;
      } else if (json[i + 1] == SLASH) {
        return i + 2;
      } else if (json[i + 1] == 'u') {
        if (hex(json[i + 2]) == 0 && hex(json[i + 3]) == 0 && hex(json[i + 4]) == 2 && hex(json[i + 5]) == 0xF) {
          return i + 6;
        }
        i += 6;
      } else {
        i += 2;
      }
    }
    return -1;
  }

  /** The index just past the first slash at or after {@code from} in a raw (percent-encoded) path, or -1. */
  static int afterPathSlash(String path, int from) {
    for (int i = from; i < path.length(); i++) {
      char c = path.charAt(i);
      if (c == SLASH) {
        return i + 1;
      }
      if (c == '%' && i + 2 < path.length() && path.charAt(i + 1) == '2' && hex(path.charAt(i + 2)) == 0xF) {
        return i + 3;
      }
    }
    return -1;
  }

  private static int hex(int c) {
    return Character.digit(c, 16);
  }
}
