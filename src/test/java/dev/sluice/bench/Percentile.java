package dev.sluice.bench;

import java.util.List;

/** The nearest-rank percentile the bench drivers' reports use. Stateless. */
final class Percentile {
  private Percentile() {}

  /** The value of rank ⌈q·n⌉ (at least 1) of a sorted list of n values; NaN when the list is empty. */
  static double nearestRank(List<Double> sorted, double q) {
    if (sorted.isEmpty()) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(q * sorted.size());
    return sorted.get(Math.clamp(rank - 1, 0, sorted.size() - 1));
  }
}
