package dev.sluice.route;

/**
 * A model glob: {@code *} matches any run of characters (none included), {@code ?} exactly one, every other
 * character itself, case-sensitively, over the whole model string. There is no escape: a model whose name holds a
 * {@code *} or {@code ?} is claimed by a glob that matches it. Characters are Unicode code points. Matching takes
 * time proportional to the pattern's length times the model's at worst (no regular expression, so no
 * backtracking blow-up on a hostile model string). Immutable and thread-safe.
 */
final class Glob {
  private final int[] codePoints;
  private final String literalPrefix;

  Glob(String pattern) {
    this.codePoints = pattern.codePoints().toArray();
    int firstWildcard = 0;
    while (firstWildcard < pattern.length() && pattern.charAt(firstWildcard) != '*'
        && pattern.charAt(firstWildcard) != '?') {
      firstWildcard++;
    }
    this.literalPrefix = pattern.substring(0, firstWildcard);
  }

  /** Whether {@code pattern} has a wildcard; without one it names one model exactly. */
  static boolean isGlob(String pattern) {
    return pattern.indexOf('*') >= 0 || pattern.indexOf('?') >= 0;
  }

  /** The pattern's length in characters: the longer of two matching globs is the more specific claim. */
  int length() {
    return codePoints.length;
  }

  /**
   * Whether {@code model} may match: it starts with the text before the pattern's first wildcard. A cheap test
   * that spares most models the full match.
   */
  boolean mayMatch(String model) {
    return model.startsWith(literalPrefix);
  }

  /** Whether the whole of {@code model}, given as its code points, matches. */
  boolean matches(int[] model) {
    int p = 0;
    int m = 0;
    int star = -1; // position in the pattern of the last '*' seen
    int starMatchEnd = 0; // end in the model of the run that '*' matches so far
    while (m < model.length) {
      if (p < codePoints.length && (codePoints[p] == '?' || codePoints[p] == model[m])) {
        p++;
        m++;
      } else if (p < codePoints.length && codePoints[p] == '*') {
        star = p++;
        starMatchEnd = m;
      } else if (star >= 0) {
        p = star + 1;
        m = ++starMatchEnd;
      } else {
        return false;
      }
    }
    while (p < codePoints.length && codePoints[p] == '*') {
      p++;
    }
    return p == codePoints.length;
  }
}
