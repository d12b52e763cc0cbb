package dev.sluice.config;

import java.net.InetAddress;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks that span several settings, run once each setting is valid on its own: the two ports differ, an admin
 * token is set when Sluice listens beyond loopback, and pool
 * names, aliases, backend ids and fallback pools are consistent across all pools. {@link #isLoopback} also serves
 * the admin API, which without a token answers only requests addressed to a loopback host. Stateless.
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

  /** Names and backend ids are unique, an alias belongs to one pool, a fallback names another declared pool. */
  static void pools(List<PoolConfig> pools) {
    Set<String> names = new HashSet<>();
    Map<String, String> aliasOwner = new HashMap<>();
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
          throw new ConfigException(path + ".aliases", alias + " already belongs to pool " + owner);
        }
      }
      for (int j = 0; j < pool.backends().size(); j++) {
        String id = pool.backends().get(j).id();
        if (!backendIds.add(id)) {
          throw new ConfigException(path + ".backends[" + j + "].id", id + " is declared twice");
        }
      }
    }
    for (int i = 0; i < pools.size(); i++) {
      PoolConfig pool = pools.get(i);
      if (pool.fallbackPool().isPresent()) {
        String fallback = pool.fallbackPool().get();
        if (fallback.equals(pool.name()) || !names.contains(fallback)) {
          throw new ConfigException("pools[" + i + "].fallback_pool", fallback
              + " must name another declared pool (one of " + String.join(", ", names) + ")");
        }
      }
    }
  }
}
