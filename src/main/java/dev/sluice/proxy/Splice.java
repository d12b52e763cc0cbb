package dev.sluice.proxy;

import java.util.Arrays;
import java.util.Comparator;

/**
 * One edit of a request body: the bytes {@code [from, to)} replaced by {@code replacement} (an insertion when
 * {@code from == to}, a cut when the replacement is empty). Sluice edits bodies only this way, so every byte it does
 * not mean to change goes upstream as the caller sent it. Immutable.
 *
 * @param from first byte replaced
 * @param to end of the bytes replaced, exclusive; at least {@code from}
 * @param replacement the bytes put in their place; not copied, not to be changed
 */
record Splice(int from, int to, byte[] replacement) {
  private static final byte[] NOTHING = {};

  /** Cuts {@code [from, to)}. */
  static Splice cut(int from, int to) {
    return new Splice(from, to, NOTHING);
  }

  /**
   * The body {@code body[0, length)} with every splice applied, as one new array; the splices must not overlap
   * (two insertions at one offset go in the order given).
   */
  static byte[] apply(byte[] body, int length, Splice... splices) {
    Splice[] ordered = splices.clone();
    Arrays.sort(ordered, Comparator.comparingInt(Splice::from).thenComparingInt(Splice::to));
    int size = length;
    for (Splice s : ordered) {
      size += s.replacement.length - (s.to - s.from);
    }
    byte[] edited = new byte[size];
    int read = 0;
    int written = 0;
    for (Splice s : ordered) {
      if (s.from < read) {
        throw new IllegalArgumentException("overlapping splices at " + s.from);
      }
      System.arraycopy(body, read, edited, written, s.from - read);
      written += s.from - read;
      System.arraycopy(s.replacement, 0, edited, written, s.replacement.length);
      written += s.replacement.length;
      read = s.to;
    }
    System.arraycopy(body, read, edited, written, length - read);
    return edited;
  }
}
