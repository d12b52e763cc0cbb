package dev.sluice.route;

import dev.sluice.backend.Pool;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Maps a request's {@code model} to a pool, in this order of precedence:
 * <ol>
 *   <li>a pool whose {@code models} names it exactly (case-sensitive);
 *   <li>the pool with the longest glob in {@code models} that matches the whole model string (see {@link Glob});
 *       between equally long globs of two pools, the pool declared first;
 *   <li>the pool whose {@code aliases} hold its provider prefix (text before the first {@code /}, lower-cased);
 *   <li>the default pool ({@code default_pool}), if there is one.
 * </ol>
 * Otherwise, and for a request without a model, the request is passthrough. The configuration refuses the same
 * name, glob or alias in two pools; were one given twice anyway, the pool declared first would take it. Immutable
 * and thread-safe.
 */
public final class Router {
  private final Map<String, Pool> poolByModel = new HashMap<>();
  private final List<GlobClaim> globs = new ArrayList<>();
  private final Map<String, Pool> poolByAlias = new HashMap<>();
  private final Optional<Pool> defaultPool;

  private record GlobClaim(Glob glob, Pool pool) {}

  /**
   * @param pools the pools in declaration order
   * @param defaultPool the name of the pool that takes every model nothing else claims, if any
   * @throws IllegalArgumentException if {@code defaultPool} names none of {@code pools}
   */
  public Router(List<Pool> pools, Optional<String> defaultPool) {
    for (Pool pool : pools) {
      for (String model : pool.models()) {
        if (Glob.isGlob(model)) {
          globs.add(new GlobClaim(new Glob(model), pool));
        } else {
          poolByModel.putIfAbsent(model, pool);
        }
      }
      for (String alias : pool.aliases()) {
        poolByAlias.putIfAbsent(alias.toLowerCase(Locale.ROOT), pool);
      }
    }
    // A stable sort: equally long globs stay in declaration order.
    globs.sort(Comparator.comparingInt((GlobClaim claim) -> claim.glob().length()).reversed());
    this.defaultPool = defaultPool.map(name -> pools.stream().filter(p -> p.name().equals(name)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("default pool " + name + " is not among the pools")));
  }

  /** The pool serving {@code model}, or empty for passthrough. */
  public Optional<Pool> route(String model) {
    if (model == null || model.isEmpty()) {
      return Optional.empty();
    }
    Pool exact = poolByModel.get(model);
    if (exact != null) {
      return Optional.of(exact);
    }
    int[] codePoints = null;
    for (GlobClaim claim : globs) {
      if (claim.glob().mayMatch(model)) {
        if (codePoints == null) {
          codePoints = model.codePoints().toArray();
        }
        if (claim.glob().matches(codePoints)) {
          return Optional.of(claim.pool());
        }
      }
    }
    int slash = model.indexOf('/');
    if (slash > 0) {
      Pool aliased = poolByAlias.get(model.substring(0, slash).toLowerCase(Locale.ROOT));
      if (aliased != null) {
        return Optional.of(aliased);
      }
    }
    return defaultPool;
  }

  /** {@code model} without its provider prefix, e.g. {@code nvidia/llama-3} becomes {@code llama-3}. */
  public static String stripPrefix(String model) {
    int slash = model.indexOf('/');
    return slash < 0 ? model : model.substring(slash + 1);
  }
}
