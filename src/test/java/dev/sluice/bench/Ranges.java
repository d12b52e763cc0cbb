package dev.sluice.bench;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Range checks of the bench tools' numeric options. A value outside its range fails the command line the way a
 * malformed one does (picocli prints the message and the usage, exit code 2), with a message that names the
 * option, the legal range and the value, all from the bounds the check uses.
 */
final class Ranges {
  private Ranges() {}

  /**
   * Throws a {@link ParameterException} "{@code OPTION must be in MIN..MAX, was VALUE}" unless
   * {@code min <= value <= max}.
   */
  static void require(CommandSpec spec, String option, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw new ParameterException(spec.commandLine(),
          option + " must be in " + text(min) + ".." + text(max) + ", was " + text(value));
    }
  }

  /**
   * As {@link #require}, but {@code -1} also passes: it switches the option off. Otherwise throws
   * "{@code OPTION must be -1 (off) or in MIN..MAX, was VALUE}".
   */
  static void requireOrOff(CommandSpec spec, String option, double value, double min, double max) {
    if (value != -1 && !(value >= min && value <= max)) {
      throw new ParameterException(spec.commandLine(),
          option + " must be -1 (off) or in " + text(min) + ".." + text(max) + ", was " + text(value));
    }
  }

  /** A whole number without a fraction ("600", not "600.0"), anything else as Java prints a double. */
  static String text(double value) {
    return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
  }
}
