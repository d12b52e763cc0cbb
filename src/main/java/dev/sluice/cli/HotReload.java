package dev.sluice.cli;

import dev.sluice.admin.ConfigApplier;
import dev.sluice.backend.Backend;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.proxy.Forwarder;
import dev.sluice.proxy.ProxyHandler;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.schedule.QueueBelowDepthException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Applies a changed configuration to the running components: each pool's queue settings (size, full policy, the
 * {@code low} timeout), each backend's capacity and rate, every backend's retreat policy, the request timeout of
 * the ingress and the forwarder, and the log level. Only what changed is touched, so an unrelated change never
 * resets a backend's retreat.
 *
 * <p>Queues that shrink go first. Each one's depth is checked (under its own lock) before any is changed, so a
 * change that one pool refuses (more waiting than its new size) leaves every pool untouched. A depth can still
 * grow between its check and the shrink itself, which checks again under the same lock and refuses; then the
 * queues already shrunk get their old settings back, and their arrivals in that short window saw the smaller size.
 * Growing a queue cannot be refused, so after that point the change always completes. Not thread-safe on its own:
 * {@code LiveConfig} calls it one change at a time.
 */
final class HotReload implements ConfigApplier {
  private final Map<String, Dispatcher> dispatchers;
  private final Map<String, Backend> backends = new LinkedHashMap<>();
  private final ProxyHandler proxy;
  private final Forwarder forwarder;

  HotReload(Map<String, Dispatcher> dispatchers, List<Backend> backends, ProxyHandler proxy, Forwarder forwarder) {
    this.dispatchers = Map.copyOf(dispatchers);
    backends.forEach(backend -> this.backends.put(backend.id(), backend));
    this.proxy = proxy;
    this.forwarder = forwarder;
  }

  @Override
  public void apply(SluiceConfig from, SluiceConfig to) {
    applyQueues(to);
    if (!from.defaults().retreat().equals(to.defaults().retreat())) {
      backends.values().forEach(backend -> backend.setRetreatPolicy(to.defaults().retreat()));
    }
    Map<String, BackendConfig> before = new LinkedHashMap<>();
    from.pools().forEach(pool -> pool.backends().forEach(b -> before.put(b.id(), b)));
    for (PoolConfig pool : to.pools()) {
      for (BackendConfig b : pool.backends()) {
        Backend backend = backends.get(b.id());
        if (b.capacity() != before.get(b.id()).capacity()) {
          backend.setCapacity(b.capacity());
        }
        if (b.rateRpm() != before.get(b.id()).rateRpm()) {
          backend.setBaseRateRpm(b.rateRpm());
        }
      }
    }
    int timeout = to.defaults().timeoutSeconds();
    if (timeout != from.defaults().timeoutSeconds()) {
      proxy.setTimeoutSeconds(timeout);
      forwarder.setTimeoutMillis(timeout * 1000L);
    }
    if (!to.logLevel().equals(from.logLevel())) {
      Lifecycle.applyLogLevel(to.logLevel());
    }
  }

  private void applyQueues(SluiceConfig to) {
    long lowTimeoutNanos = TimeUnit.SECONDS.toNanos(to.defaults().lowPriorityTimeoutSeconds());
    Map<Dispatcher, Dispatcher.Settings> shrinking = new LinkedHashMap<>();
    Map<Dispatcher, Dispatcher.Settings> others = new LinkedHashMap<>();
    for (PoolConfig pool : to.pools()) {
      Dispatcher dispatcher = dispatchers.get(pool.name());
      var settings = new Dispatcher.Settings(pool.queueMaxSize(), pool.fullPolicy(), lowTimeoutNanos);
      if (settings.equals(dispatcher.settings())) {
        continue;
      }
      (settings.queueMaxSize() < dispatcher.settings().queueMaxSize() ? shrinking : others).put(dispatcher, settings);
    }
    // Every shrinking queue is checked before any is touched, so that no pool's arrivals see a smaller queue
    // for a change another pool then refuses.
    shrinking.forEach((dispatcher, settings) -> {
      int depth = dispatcher.snapshot().size();
      if (settings.queueMaxSize() < depth) {
        throw new QueueBelowDepthException(dispatcher.pool(), settings.queueMaxSize(), depth);
      }
    });
    List<Map.Entry<Dispatcher, Dispatcher.Settings>> undo = new ArrayList<>();
    for (var change : shrinking.entrySet()) {
      Dispatcher.Settings old = change.getKey().settings();
      try {
        change.getKey().updateSettings(change.getValue());
      } catch (QueueBelowDepthException refused) {
        // Arrivals grew this queue between its check and now: put back the ones already applied.
        undo.reversed().forEach(previous -> previous.getKey().updateSettings(previous.getValue()));
        throw refused;
      }
      undo.add(Map.entry(change.getKey(), old));
    }
    others.forEach(Dispatcher::updateSettings);
  }
}
