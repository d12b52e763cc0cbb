package dev.sluice.route;

import dev.sluice.backend.Pool;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a request's {@code model} to a pool: the provider prefix (text before the first {@code /}, lower-cased) is
 * looked up among the pools' aliases. A model without a prefix, or whose prefix no pool claims, routes nowhere:
 * the request is passthrough. Immutable and thread-safe.
 */
public final class Router {
  private final Map<String, Pool> poolByAlias = new HashMap<>();

  public Router(List<Pool> pools) {
    for (Pool pool : pools) {
      for (String alias : pool.aliases()) {
        Pool previous = poolByAlias.putIfAbsent(alias.toLowerCase(Locale.ROOT), pool);
        if (previous != null && previous != pool) {
          throw new IllegalArgumentException("alias " + alias + " claimed by pools " + previous.name()
              + " and " + pool.name());
        }
      }
    }
  }

  /** The pool serving {@code model}, or empty for passthrough. */
  public Optional<Pool> route(String model) {
    if (model == null) {
      return Optional.empty();
    }
    int slash = model.indexOf('/');
    if (slash <= 0) {
      return Optional.empty();
    }
    return Optional.ofNullable(poolByAlias.get(model.substring(0, slash).toLowerCase(Locale.ROOT)));
  }

  /** {@code model} without its provider prefix, e.g. {@code nvidia/llama-3} becomes {@code llama-3}. */
  public static String stripPrefix(String model) {
    int slash = model.indexOf('/');
    return slash < 0 ? model : model.substring(slash + 1);
  }
}
