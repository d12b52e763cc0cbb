package dev.sluice.cli;

import dev.sluice.admin.AdaptiveEndpoints;
import dev.sluice.admin.AdminHandler;
import dev.sluice.admin.AdminRoute;
import dev.sluice.admin.BackendEndpoints;
import dev.sluice.admin.ConfigEndpoints;
import dev.sluice.admin.CooldownEndpoints;
import dev.sluice.admin.LiveConfig;
import dev.sluice.admin.QuotaEndpoints;
import dev.sluice.backend.Backend;
import dev.sluice.backend.OutcomeListener;
import dev.sluice.backend.Pool;
import dev.sluice.backend.StateKeeper;
import dev.sluice.backend.StoreWrites;
import dev.sluice.config.BackendConfig;
import dev.sluice.config.ConcurrencyConfig;
import dev.sluice.config.CooldownConfig;
import dev.sluice.config.FailoverConfig;
import dev.sluice.config.PoolConfig;
import dev.sluice.config.ServerConfig;
import dev.sluice.config.SluiceConfig;
import dev.sluice.limit.BucketStore;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.RetryBudget;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.QuotaGuard;
import dev.sluice.limit.TokenBucket;
import dev.sluice.limit.TokensPerMinute;
import dev.sluice.observe.Metrics;
import dev.sluice.observe.ProxyStats;
import dev.sluice.observe.RequestLog;
import dev.sluice.observe.StatusHandler;
import dev.sluice.observe.dashboard.DashboardHandler;
import dev.sluice.observe.dashboard.EventLog;
import dev.sluice.observe.dashboard.Traffic;
import dev.sluice.proxy.CallerEndPoint;
import dev.sluice.proxy.DeadKeyProbe;
import dev.sluice.proxy.Forwarder;
import dev.sluice.proxy.JsonErrorHandler;
import dev.sluice.proxy.ModelCatalog;
import dev.sluice.proxy.ProxyHandler;
import dev.sluice.proxy.RequestIds;
import dev.sluice.proxy.UpstreamProbe;
import dev.sluice.route.Router;
import dev.sluice.schedule.Dispatcher;
import dev.sluice.schedule.Scheduler;
import dev.sluice.store.SqliteStateStore;
import dev.sluice.time.Clock;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpCookieStore;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.SocketAddressResolver;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.util.thread.ScheduledExecutorScheduler;

/**
 * The composition root: turns a validated config into a {@link Sluice} with every collaborator created here and
 * passed through constructors. Nothing else in the code base creates long-lived components.
 */
public final class Wiring {
  /** Request headers larger than this get 431. */
  static final int MAX_REQUEST_HEADER_BYTES = 16 * 1024;
  static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  /** Read buffer of a caller's connection, held while its request is in progress. */
  static final int INPUT_BUFFER_BYTES = 4096;
  /** Idle buffers kept for reuse, per kind (heap, direct). */
  static final long POOLED_BUFFER_BYTES = 16L * 1024 * 1024;
  /**
   * Largest pooled buffer. It must cover the upstream client's request buffer: a size above every bucket is
   * allocated (and zeroed) afresh on each request instead of reused.
   */
  static final int MAX_POOLED_BUFFER_BYTES = 64 * 1024;
  /** Name of the connector of the metrics port, the one {@code /metrics} is answered on. */
  static final String METRICS_CONNECTOR = "metrics";
  /** How long a pool thread above the minimum may stay idle before it retires (see {@link ProxyThreadPool}). */
  static final Duration THREAD_IDLE_TIMEOUT = Duration.ofSeconds(60);
  /** How often a dead backend's key is tried again (see {@link DeadKeyProbe}). */
  static final Duration DEAD_KEY_PROBE_INTERVAL = Duration.ofSeconds(60);

  /**
   * Selector threads of each side, the server's and the upstream client's: one per processor, as nginx runs one
   * worker per processor. Requests are handled on these threads (see {@link ProxyThreadPool}), so they are the
   * proxy's workers. Jetty's defaults (half the processors on the server, one on the client) gave 15,000 req/s
   * on 2 processors; one per processor on each side gave 23,000 at 20 % less CPU per request.
   */
  static int selectorThreads() {
    return Runtime.getRuntime().availableProcessors();
  }

  private Wiring() {}

  public static Sluice build(SluiceConfig config, Clock clock) {
    return build(config, clock, THREAD_IDLE_TIMEOUT);
  }

  /** {@link #build(SluiceConfig, Clock)} with the pool's idle timeout given, so that a test need not wait a minute. */
  static Sluice build(SluiceConfig config, Clock clock, Duration threadIdleTimeout) {
    BucketStore buckets = BucketStore.inMemory();
    ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "sluice-dispatch");
      thread.setDaemon(true);
      return thread;
    });
    timer.setRemoveOnCancelPolicy(true);
    Scheduler scheduler = Scheduler.of(timer);
    List<Pool> pools = new ArrayList<>();
    EventLog events = new EventLog(clock);
    Map<String, Dispatcher> dispatchers = new LinkedHashMap<>();
    ServiceLog serviceLog = new ServiceLog(events);
    for (PoolConfig poolConfig : config.pools()) {
      // A pool's only backend never cools down: there is nowhere else to send its traffic meanwhile, and its
      // upstream's Retry-After and adaptive retreat already pace it.
      boolean coolsDown = poolConfig.backends().size() > 1;
      List<Backend> backends = poolConfig.backends().stream()
          .map(b -> backend(poolConfig.name(), b, config.defaults().retreat(), coolsDown, buckets, events, clock))
          .toList();
      backends.forEach(b -> b.onServiceChange(serviceLog));
      FailoverConfig failover = poolConfig.failover();
      pools.add(new Pool(poolConfig.name(), poolConfig.aliases(), poolConfig.models(), poolConfig.stripPrefix(),
          failover.maxAttempts(), failover.firstByteTimeoutSeconds().map(s -> s * 1000L).orElse(0L), backends,
          poolConfig.accounting()));
      dispatchers.put(poolConfig.name(), new Dispatcher(poolConfig.name(), backends, new Dispatcher.Settings(
          poolConfig.queueMaxSize(), poolConfig.fullPolicy(),
          TimeUnit.SECONDS.toNanos(config.defaults().lowPriorityTimeoutSeconds())),
          new Dispatcher.Failover(failover.selection(), TimeUnit.SECONDS.toNanos(failover.spillAfterSeconds()),
              new RetryBudget(failover.retryBudgetPercent(), FailoverConfig.RETRY_BUDGET_WINDOW_SECONDS,
                  clock.nanoTime()), failover.emergencyUpstream()),
          clock, scheduler));
    }
    for (PoolConfig poolConfig : config.pools()) {
      poolConfig.failover().fallbackPool().ifPresent(
          fallback -> dispatchers.get(poolConfig.name()).setFallback(dispatchers.get(fallback)));
    }
    List<Backend> allBackends = pools.stream().flatMap(p -> p.backends().stream()).toList();
    // What the backends learned and used before a restart is theirs again before the first request. Kept in memory
    // only, there is nothing to restore or write, and the SQLite driver is not even loaded.
    Optional<StateKeeper> keeper = config.server().dbPath().equals(ServerConfig.IN_MEMORY) ? Optional.empty()
        : Optional.of(new StateKeeper(SqliteStateStore.open(Path.of(config.server().dbPath())), allBackends, clock));
    keeper.ifPresent(StateKeeper::restore);
    // One pool serves both legs, as Jetty's own proxy does: fewer threads, and fewer hand-offs between pools.
    QueuedThreadPool threads = new ProxyThreadPool(256, 8, threadIdleTimeout);
    threads.setName("sluice");
    // One buffer pool too, bounded: with thousands of open streams an unbounded pool keeps every buffer it
    // ever handed out (tens of MB of direct memory) long after the bursts that needed them.
    ByteBufferPool buffers = new ArrayByteBufferPool(0, 1024, MAX_POOLED_BUFFER_BYTES, -1, POOLED_BUFFER_BYTES,
        POOLED_BUFFER_BYTES);
    HttpClient client = upstreamClient(config, threads, buffers);

    ProxyStats stats = new ProxyStats();
    RequestLog requestLog = new RequestLog();
    Traffic traffic = new Traffic();
    // Metrics switched off leave no trace on the request path: no listener, no registry, no port.
    Optional<Metrics> metrics = config.server().metricsEnabled()
        ? Optional.of(new Metrics(clock, List.copyOf(dispatchers.values()))) : Optional.empty();
    List<OutcomeListener> listeners = new ArrayList<>(List.of(stats, requestLog, traffic));
    metrics.ifPresent(m -> listeners.add(m.outcomes()));
    OutcomeListener[] outcomeListeners = listeners.toArray(OutcomeListener[]::new);
    OutcomeListener outcomes = outcome -> {
      for (OutcomeListener listener : outcomeListeners) {
        listener.onOutcome(outcome);
      }
    };

    UpstreamProbe probe = new UpstreamProbe(client, pools.getFirst().primary());
    List<Dispatcher> dispatcherList = List.copyOf(dispatchers.values());
    RequestIds requestIds = new RequestIds();
    String dbPath = config.server().dbPath();
    StatusHandler status = new StatusHandler(clock, Version.current(), stats, probe::reachable, dispatcherList,
        requestIds::nameResponse, () -> keeper.map(k -> k.writes(dbPath)).orElse(new StoreWrites(dbPath, 0, 0, 0)));
    int timeoutSeconds = config.defaults().timeoutSeconds();
    Forwarder forwarder = new Forwarder(client, timeoutSeconds * 1000L, clock, outcomes);
    Router router = new Router(pools, config.defaultPool());
    ProxyHandler proxy = new ProxyHandler(router, dispatchers, config.defaultUpstream(), timeoutSeconds,
        config.server().maxBodyBytes(), clock, forwarder, requestIds);

    Server server = new Server(threads, null, buffers);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setSendXPoweredBy(false);
    http.setRequestHeaderSize(MAX_REQUEST_HEADER_BYTES);
    // Jetty's per-connection header cache builds a ~100 KB trie on a connection's second request. With many
    // callers that is megabytes per round of short-lived connections surviving young collections: 20-27 ms
    // Serial pauses every 15 s under 200 streams. Parsing without it costs no more CPU (measured).
    http.setHeaderCacheSize(0);
    // A proxy forwards paths as sent: model ids such as "nvidia%2Fllama" carry encoded slashes.
    http.setUriCompliance(UriCompliance.UNSAFE);
    HttpConnectionFactory http1 = new HttpConnectionFactory(http);
    // A caller's connection keeps its input buffer while its request is in progress, which for a stream is its
    // whole life: at 8 KB (Jetty's default) 9,000 open streams held 72 MB. Bodies still arrive in any size.
    http1.setInputBufferSize(INPUT_BUFFER_BYTES);
    // No acceptor thread: the selector accepts new connections itself, as it already reads them, instead of each
    // new caller waking an acceptor, then the selector, then a pool thread.
    ServerConnector connector = new ServerConnector(server, 0, selectorThreads(), http1) {
      @Override
      protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key) {
        var endPoint = new CallerEndPoint(channel, selector, key, getScheduler());
        endPoint.setIdleTimeout(getIdleTimeout());
        return endPoint;
      }
    };
    connector.setHost(config.server().host());
    connector.setPort(config.server().port());
    connector.setAcceptQueueSize(4096);
    // Idle callers' keep-alive connections close after this; requests in progress are bounded by the upstream timeout.
    connector.setIdleTimeout(Math.max(30_000L, config.defaults().timeoutSeconds() * 1000L + 5_000L));
    server.addConnector(connector);
    server.setErrorHandler(new JsonErrorHandler(requestIds));
    // The admin API: the live configuration, its hot reload into the components above, and the endpoints.
    HotReload hotReload = new HotReload(dispatchers, allBackends, proxy, forwarder);
    LiveConfig liveConfig = new LiveConfig(config, hotReload);
    List<AdminRoute> adminRoutes = new ArrayList<>(new ConfigEndpoints(liveConfig, dispatcherList).routes());
    adminRoutes.addAll(new AdaptiveEndpoints(pools).routes());
    adminRoutes.addAll(new CooldownEndpoints(pools, clock).routes());
    adminRoutes.addAll(new BackendEndpoints(pools, liveConfig).routes());
    adminRoutes.addAll(new QuotaEndpoints(pools).routes());
    AdminHandler admin = new AdminHandler(config.adminToken(), adminRoutes, requestIds::nameResponse);
    // The dashboard's snapshots are built on their own thread: with many backends a build would delay the
    // dispatchers' wakeups on theirs.
    ScheduledThreadPoolExecutor dashboardTimer = new ScheduledThreadPoolExecutor(1, runnable -> {
      Thread thread = new Thread(runnable, "sluice-dashboard");
      thread.setDaemon(true);
      return thread;
    });
    DashboardHandler dashboard = new DashboardHandler(clock, Scheduler.of(dashboardTimer), dispatcherList, traffic,
        events, requestIds::nameResponse);
    List<Handler> handlers = new ArrayList<>();
    metrics.ifPresent(m -> handlers.add(m.handler(metricsConnector(server, http, config.server()))));
    ModelCatalog models = new ModelCatalog(pools, router, config.defaultUpstream(), client, clock, requestIds);
    handlers.addAll(List.of(status, admin, dashboard, models, proxy));
    server.setHandler(new Handler.Sequence(handlers));
    server.setStopTimeout(5_000);
    DeadKeyProbe deadKeyProbe = new DeadKeyProbe(client, allBackends, scheduler, DEAD_KEY_PROBE_INTERVAL);
    return new Sluice(config, server, connector, client, pools, dispatcherList, timer, dashboardTimer, deadKeyProbe,
        keeper);
  }

  /** The metrics port: a second connector of the same server, with one selector that also accepts. */
  private static ServerConnector metricsConnector(Server server, HttpConfiguration http, ServerConfig config) {
    ServerConnector connector = new ServerConnector(server, 0, 1, new HttpConnectionFactory(http));
    connector.setName(METRICS_CONNECTOR);
    connector.setHost(config.host());
    connector.setPort(config.metricsPort());
    server.addConnector(connector);
    return connector;
  }

  private static Backend backend(String pool, BackendConfig config, RetreatPolicy retreatPolicy, boolean coolsDown,
      BucketStore buckets, EventLog events, Clock clock) {
    TokenBucket bucket = new TokenBucket(buckets, config.id(), config.rateRpm(), config.capacity());
    RetreatController retreat = new RetreatController(retreatPolicy, config.rateRpm(), clock.nanoTime(),
        new RetreatLog(pool, config.id(), events));
    ConcurrencyLimit concurrency = new ConcurrencyLimit(
        config.concurrency().mode() == ConcurrencyConfig.Mode.ADAPTIVE, config.concurrency().maxConcurrent());
    Optional<Cooldown> cooldown = coolsDown ? Optional.of(new Cooldown(cooldownPolicy(config.cooldown()),
        event -> events.cooldown(pool, config.id(), event.count() == 0, event.summary()))) : Optional.empty();
    QuotaGuard quota = new QuotaGuard(config.quota().map(q -> new QuotaGuard.Policy(q.budgetTokens(),
        Duration.ofMinutes(q.windowMinutes()), q.thresholdPercent(), Duration.ofSeconds(q.probeIntervalSeconds())))
        .orElse(QuotaGuard.Policy.capErrorsOnly()));
    Optional<TokensPerMinute> tpm = config.tpm() > 0
        ? Optional.of(new TokensPerMinute(config.tpm())) : Optional.empty();
    return new Backend(config.id(), pool, config.baseUrl(), config.apiKey(), bucket, retreat, concurrency, cooldown,
        new Backend.TokenLimits(quota, tpm, config.raiseRateFromHeaders()), clock);
  }

  static Cooldown.Policy cooldownPolicy(CooldownConfig config) {
    return new Cooldown.Policy(Duration.ofSeconds(config.baseSeconds()), Duration.ofSeconds(config.maxSeconds()),
        config.exponential(), Duration.ofSeconds(config.precheckSeconds()));
  }

  private static HttpClient upstreamClient(SluiceConfig config, QueuedThreadPool threads, ByteBufferPool buffers) {
    ClientConnector connector = new ClientConnector();
    connector.setByteBufferPool(buffers);
    connector.setConnectTimeout(CONNECT_TIMEOUT);
    connector.setExecutor(threads);
    connector.setSelectors(selectorThreads());
    HttpClientTransportOverHTTP transport = new HttpClientTransportOverHTTP(connector);
    // The relay's listeners never block (each write completes through a callback), so the selector thread may run
    // them itself instead of handing every response to a pool thread.
    transport.setInvocationType(Invocable.InvocationType.NON_BLOCKING);
    transport.setHeaderCacheSize(0); // the same cache per upstream connection; see the server's
    HttpClient client = new HttpClient(transport);
    // An upstream given by IP address is not looked up on the pool; see UpstreamResolver.
    ScheduledExecutorScheduler scheduler = new ScheduledExecutorScheduler("sluice-upstream-scheduler", false);
    client.setScheduler(scheduler);
    client.setSocketAddressResolver(new UpstreamResolver(
        new SocketAddressResolver.Async(threads, scheduler, client.getAddressResolutionTimeout())));
    client.setMaxConnectionsPerDestination(config.server().maxConnectionsPerUpstream());
    client.setMaxRequestsQueuedPerDestination(config.server().maxQueuedPerUpstream());
    // Room for every request header a caller may send, plus the ones Sluice sets (Jetty's default is 4 KB).
    client.setRequestBufferSize(MAX_REQUEST_HEADER_BYTES + 4096);
    client.setFollowRedirects(false);
    client.setHttpCookieStore(new HttpCookieStore.Empty());
    client.setUserAgentField(null);
    client.setDefaultRequestContentType(null);
    client.setIdleTimeout(60_000);
    return client;
  }
}
