package dev.sluice.backend;

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
 */
public record Pool(
    String name, List<String> aliases, List<String> models, boolean stripPrefix, int maxAttempts,
    long firstByteTimeoutMillis, List<Backend> backends) {

  public Pool {
    aliases = List.copyOf(aliases);
    models = List.copyOf(models);
    backends = List.copyOf(backends);
    if (backends.isEmpty()) {
      throw new IllegalArgumentException("pool " + name + " has no backends");
    }
  }

  /** The first backend: the one the readiness probe asks. */
  public Backend primary() {
    return backends.getFirst();
  }
}
