package dev.sluice.backend;

import dev.sluice.config.AccountingConfig;
import java.util.List;

/**
 * A named group of backends serving the models it claims by name, glob or provider prefix. Immutable.
 *
 * @param name pool name
 * @param aliases lower-case provider prefixes routed to this pool
 * @param models exact model names and globs ({@code *}, {@code ?}) routed to this pool, case-sensitive
 * @param stripPrefix whether {@code model} is forwarded without its provider prefix
 * @param maxAttempts upstream attempts per request before its first byte reaches the caller
 * @param firstByteTimeoutMillis an attempt without response headers after this long fails over; 0 for none (the
 *     request timeout applies)
 * @param backends ordered backends, at least one
 * @param accounting the usage streams are asked for, the completion assumed when a request names none, and what
 *     makes an answer the provider's quota error
 */
public record Pool(
    String name, List<String> aliases, List<String> models, boolean stripPrefix, int maxAttempts,
    long firstByteTimeoutMillis, List<Backend> backends, AccountingConfig accounting) {

  public Pool {
    aliases = List.copyOf(aliases);
    models = List.copyOf(models);
    backends = List.copyOf(backends);
    if (backends.isEmpty()) {
      throw new IllegalArgumentException("pool " + name + " has no backends");
    }
  }

  /** A pool whose accounting settings are the defaults. */
  public Pool(String name, List<String> aliases, List<String> models, boolean stripPrefix, int maxAttempts,
      long firstByteTimeoutMillis, List<Backend> backends) {
    this(name, aliases, models, stripPrefix, maxAttempts, firstByteTimeoutMillis, backends,
        AccountingConfig.defaults());
  }

  /** Whether streams whose caller did not ask for usage are asked for it (and stripped of it) upstream. */
  public boolean streamUsage() {
    return accounting.streamUsage();
  }

  /** Completion tokens assumed for a request that names no {@code max_tokens}. */
  public int defaultMaxTokens() {
    return accounting.defaultMaxTokens();
  }

  /** What makes an upstream answer the provider's quota error. */
  public AccountingConfig.QuotaErrors quotaErrors() {
    return accounting.quotaErrors();
  }

  /** The first backend: the one the readiness probe asks. */
  public Backend primary() {
    return backends.getFirst();
  }
}
