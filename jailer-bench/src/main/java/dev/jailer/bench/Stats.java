package dev.jailer.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Repeated measurements of one quantity and the figures the report shows: the median and a
 * spread. Nearest-rank percentiles, so every figure is a value that was actually measured.
 */
final class Stats {
  private final List<Double> values = new ArrayList<>();

  void add(double value) {
    values.add(value);
  }

  int count() {
    return values.size();
  }

  List<Double> values() {
    return Collections.unmodifiableList(values);
  }

  /**
   * The {@code q}-quantile (0 to 1) by nearest rank.
   *
   * @throws IllegalStateException when nothing was measured
   */
  double percentile(double q) {
    if (values.isEmpty()) {
      throw new IllegalStateException("no measurements");
    }
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    int rank = (int) Math.ceil(q * sorted.size());
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, rank - 1)));
  }

  double median() {
    return percentile(0.5);
  }

  double min() {
    return percentile(0);
  }

  double max() {
    return percentile(1);
  }

  /**
   * Interquartile range for many repetitions; with five or fewer, quartiles say little and the
   * whole range is shown instead.
   */
  Spread spread() {
    if (values.size() <= 5) {
      return new Spread("min–max", min(), max());
    }
    return new Spread("p25–p75", percentile(0.25), percentile(0.75));
  }

  /** A spread of measurements: its kind ("p25–p75" or "min–max") and its ends. */
  record Spread(String kind, double low, double high) {}
}
