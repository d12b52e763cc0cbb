package dev.sluice.proxy;

import org.eclipse.jetty.http.HttpFields;

/**
 * The timing headers on Sluice's answers: {@value #OVERHEAD} (the milliseconds Sluice itself added: everything
 * but the queue and the waits for the upstream) on every answer, and {@value #QUEUE} (the milliseconds spent in
 * the pool's queue) on every answer to a request that went through one. Values have three decimals:
 * {@code 0.142}.
 */
final class TimingHeaders {
  static final String OVERHEAD = "X-Sluice-Overhead-Ms";
  static final String QUEUE = "X-Sluice-Queue-Ms";

  private TimingHeaders() {}

  static void putOverhead(HttpFields.Mutable headers, long overheadNanos) {
    headers.put(OVERHEAD, millis(overheadNanos));
  }

  static void putQueue(HttpFields.Mutable headers, long queueNanos) {
    headers.put(QUEUE, millis(queueNanos));
  }

  /** {@code nanos} as milliseconds with three decimals, without the cost of a formatter on the request path. */
  static String millis(long nanos) {
    long micros = Math.max(0, nanos) / 1_000;
    long fraction = micros % 1_000;
    return (micros / 1_000) + (fraction < 10 ? ".00" : fraction < 100 ? ".0" : ".") + fraction;
  }
}
