package dev.sluice.sim;

import java.util.Locale;
import org.eclipse.jetty.http.HttpFields;

/**
 * Per-request instructions a test sends as headers (they pass through a proxy unchanged): {@code X-Sim-Ttft-Ms}
 * (delay before the headers), {@code X-Sim-Fault} ({@code 500}, {@code 503}, {@code 429}, {@code reset} or
 * {@code stall}: half the answer, then a stall; {@code stall-first-byte}: a stall before the headers),
 * {@code X-Sim-Status} (answer this status, 400..599, with an OpenAI-shaped error) and
 * {@code X-Sim-Chunks} (tokens in the completion). Immutable.
 *
 * @param ttftMillis the delay, or -1 for the configured one
 * @param fault the forced fault in lower case, or {@code null}
 * @param status the forced status, or 0
 * @param chunks the completion tokens, or -1 for the configured number
 */
record Overrides(long ttftMillis, String fault, int status, int chunks) {
  static final String TTFT = "X-Sim-Ttft-Ms";
  static final String FAULT = "X-Sim-Fault";
  static final String STATUS = "X-Sim-Status";
  static final String CHUNKS = "X-Sim-Chunks";
  /** The {@code X-Sim-Fault} that stalls an answer half-way. */
  static final String STALL = "stall";
  /** The {@code X-Sim-Fault} that stalls an answer before its headers. */
  static final String STALL_FIRST_BYTE = "stall-first-byte";
  static final Overrides NONE = new Overrides(-1, null, 0, -1);

  /**
   * Reads the override headers.
   *
   * @throws IllegalArgumentException naming the header, its value and what is legal
   */
  static Overrides from(HttpFields headers) {
    String ttft = headers.get(TTFT);
    String fault = headers.get(FAULT);
    String status = headers.get(STATUS);
    String chunks = headers.get(CHUNKS);
    if (ttft == null && fault == null && status == null && chunks == null) {
      return NONE;
    }
    String normalizedFault = null;
    if (fault != null) {
      normalizedFault = fault.trim().toLowerCase(Locale.ROOT);
      switch (normalizedFault) {
        case "500", "503", "429", "reset", STALL, STALL_FIRST_BYTE -> { }
        default -> throw new IllegalArgumentException(
            FAULT + ": " + fault + " is not one of 500, 503, 429, reset, stall, stall-first-byte");
      }
    }
    return new Overrides(
        ttft == null ? -1 : number(TTFT, ttft, 0, SimConfig.MAX_TTFT_MILLIS),
        normalizedFault,
        status == null ? 0 : (int) number(STATUS, status, 400, 599),
        chunks == null ? -1 : (int) number(CHUNKS, chunks, 0, SimConfig.MAX_COMPLETION_TOKENS));
  }

  /** The fault this call forces on itself among those an admitted call may have, or null. */
  Faults.Fault forcedStall() {
    if (STALL.equals(fault)) {
      return Faults.Fault.STALL;
    }
    return STALL_FIRST_BYTE.equals(fault) ? Faults.Fault.STALL_FIRST_BYTE : null;
  }

  private static long number(String header, String text, long min, long max) {
    long value;
    try {
      value = Long.parseLong(text.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(header + ": " + text + " is not a whole number in " + min + ".." + max);
    }
    if (value < min || value > max) {
      throw new IllegalArgumentException(header + ": " + value + " is outside " + min + ".." + max);
    }
    return value;
  }
}
