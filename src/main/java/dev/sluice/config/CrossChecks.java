package dev.sluice.config;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks that span several settings, run once each setting is valid on its own: the two ports differ, an admin
 * token is set when Sluice listens beyond loopback, and pool names, aliases, models, backend ids, fallback pools
 * and the default pool are consistent across all pools. {@link #isLoopback} also serves the admin API, which
 * without a token answers only requests addressed to a loopback host. Stateless.
 */
public final class CrossChecks {
  private CrossChecks() {}

  /** @param portKey and {@code metricsKey} name where each port came from (a variable or a YAML path) */
  static void portsDiffer(String portKey, int port, String metricsKey, int metricsPort) {
    if (port != 0 && port == metricsPort) {
      throw new ConfigException(metricsKey, metricsPort + " must differ from " + portKey + " (" + port
          + "); any other port in 0.." + Bounds.MAX_PORT);
    }
  }

  /**
   * Without a token the admin API may only be reachable from this machine: listening beyond loopback needs one.
   */
  static void adminTokenBeyondLoopback(String host, Optional<Secret> adminToken) {
    if (adminToken.isEmpty() && !isLoopback(host)) {
      throw new ConfigException(ConfigLoader.ENV_ADMIN_TOKEN, "is not set, but Sluice listens on " + host
          + ", beyond loopback, where anyone who reaches the port could change its settings through the admin API;"
          + " set a token, or listen on 127.0.0.1");
    }
  }

  /**
   * {@code localhost}, an address in 127.0.0.0/8, or ::1 (with or without brackets); decided on the text alone,
   * without a name lookup.
   */
  public static boolean isLoopback(String host) {
    String h = host.strip();
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.toLowerCase(Locale.ROOT).equals("localhost")) {
      return true;
    }
    try {
      return InetAddress.ofLiteral(h).isLoopbackAddress();
    } catch (IllegalArgumentException notAnAddress) {
      return false;
    }
  }

  /**
   * Names and backend ids are unique, an alias belongs to one pool, so does a model name or glob (the same string
   * in two pools' {@code models}; an exact name in one pool and a different glob matching it in another is legal,
   * decided by precedence), and a fallback names another declared pool.
   */
  static void pools(List<PoolConfig> pools) {
    Set<String> names = new HashSet<>();
    Map<String, String> aliasOwner = new HashMap<>();
    Map<String, String> modelOwner = new HashMap<>();
    Set<String> backendIds = new HashSet<>();
    for (int i = 0; i < pools.size(); i++) {
      PoolConfig pool = pools.get(i);
      String path = "pools[" + i + "]";
      if (!names.add(pool.name())) {
        throw new ConfigException(path + ".name", pool.name() + " is declared twice");
      }
      for (String alias : pool.aliases()) {
        String owner = aliasOwner.putIfAbsent(alias, pool.name());
        if (owner != null && !owner.equals(pool.name())) {
          throw new ConfigException(path + ".aliases", alias + " is claimed by pool " + owner + " and by pool "
              + pool.name() + "; an alias belongs to one pool");
        }
      }
      for (int j = 0; j < pool.models().size(); j++) {
        String model = pool.models().get(j);
        String owner = modelOwner.putIfAbsent(model, pool.name());
        if (owner != null && !owner.equals(pool.name())) {
          throw new ConfigException(path + ".models[" + j + "]", model + " is claimed by pool " + owner
              + " and by pool " + pool.name() + "; a model name or glob belongs to one pool");
        }
      }
      for (int j = 0; j < pool.backends().size(); j++) {
        String id = pool.backends().get(j).id();
        if (!backendIds.add(id)) {
          throw new ConfigException(path + ".backends[" + j + "].id", id + " is declared twice");
        }
      }
    }
    Map<String, String> fallbackOf = new HashMap<>();
    for (int i = 0; i < pools.size(); i++) {
      PoolConfig pool = pools.get(i);
      if (pool.failover().fallbackPool().isPresent()) {
        String fallback = pool.failover().fallbackPool().get();
        if (fallback.equals(pool.name()) || !names.contains(fallback)) {
          throw new ConfigException("pools[" + i + "].fallback_pool", fallback
              + " must name another declared pool (one of " + String.join(", ", names) + ")");
        }
        fallbackOf.put(pool.name(), fallback);
      }
    }
    for (int i = 0; i < pools.size(); i++) {
      List<String> chain = new ArrayList<>(List.of(pools.get(i).name()));
      for (String next = fallbackOf.get(chain.getFirst()); next != null; next = fallbackOf.get(next)) {
        chain.add(next);
        if (next.equals(chain.getFirst())) {
          throw new ConfigException("pools[" + i + "].fallback_pool", "makes a cycle of fallback pools ("
              + String.join(" -> ", chain) + "); a request moved to a fallback pool must never come back");
        }
      }
    }
  }

  /** {@code default_pool} names a declared pool. */
  static void defaultPool(String name, List<PoolConfig> pools) {
    List<String> names = pools.stream().map(PoolConfig::name).toList();
    if (!names.contains(name)) {
      throw new ConfigException("default_pool", name + " must name a declared pool (one of "
          + String.join(", ", names) + ")");
    }
  }
}
