package dev.sluice.backend;

import dev.sluice.config.Secret;
import dev.sluice.limit.Admission;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.Clock;
import java.net.URI;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.function.ObjLongConsumer;

/**
 * One upstream account of a pool, and the one place that decides whether it may be sent a request now:
 * {@link #tryAcquire} consults its limiters and grants a {@link Permit} or names the earliest instant to ask again.
 * In order: out of service (dead after the upstream refused its key, or disabled by an operator), the upstream's
 * {@code Retry-After}, the cooldown after consecutive failures, the concurrency limit, then the token bucket.
 * Released permits feed the retreat controller (whose rate changes are applied to the bucket at once), the
 * cooldown and the concurrency limit.
 *
 * <p>An upstream 429 that is evidence of a rate too high (see {@link RefusalKind}) also empties the bucket: the
 * burst it saved up is not there upstream. If the 429 came with a {@code Retry-After}, the backend sends nothing
 * until then and resumes with at most one second's worth of tokens, not with what piled up while it waited. A 429
 * about concurrency holds the backend for its {@code Retry-After} too, but neither empties the bucket nor judges
 * the rate; in adaptive mode it lowers the learned concurrency limit.
 *
 * <p>A backend with its own key whose upstream answers 401 or 403 is dead: it gets no traffic until an operator
 * enables it again or a probe with its key succeeds ({@link #revive}). A backend without a key forwards the
 * caller's credentials, so a 401 there is the caller's, and marks nothing.
 *
 * <p>Thread-safe: every decision and every release runs under this object's monitor (the limiters have their own
 * locks, always taken after it); the {@code Retry-After} gate is only ever extended, and each retreat verdict is
 * paired with the bucket's rate. The retreat controller's listener (a log line) runs under it; the dispatcher's
 * wake-up runs after it is released.
 */
public final class Backend {
  private static final long NANOS_PER_SECOND = 1_000_000_000L;

  private final String id;
  private final String pool;
  private final URI baseUrl;
  private final Optional<Secret> apiKey;
  private final TokenBucket bucket;
  private final RetreatController retreat;
  private final ConcurrencyLimit concurrency;
  /** Empty when the backend is its pool's only one: there is nowhere else to send its traffic meanwhile. */
  private final Optional<Cooldown> cooldown;
  private final Clock clock;
  private volatile Runnable onCapacityChange = () -> { };
  private volatile ServiceListener serviceListener = (backend, inService, change) -> { };
  /** Why the backend gets no traffic at all, or null while it is in service. */
  private OutOfService outOfService;
  private final Map<RefusalKind, Long> refusals = new EnumMap<>(RefusalKind.class);
  private long lastRefusalMillis;
  /** Accepted (2xx) answers since start. */
  private long accepted;
  private long notBeforeNanos = Long.MIN_VALUE;
  /** A rate 429's {@code Retry-After} is holding the backend: trim the bucket when the hold ends. */
  private boolean trimWhenHoldEnds;
  private int inFlight;
  /** Mean time from grant to release of accepted (2xx) requests, a moving average; 0 until one is. */
  private double meanAnswerNanos;
  /** What the last upstream 429 was about, or null before the first. */
  private RefusalKind lastRefusal;

  /**
   * @param id configured id, used in logs and metric labels
   * @param pool name of the owning pool
   * @param baseUrl upstream base URL, e.g. {@code https://integrate.api.nvidia.com/v1}
   * @param apiKey the backend's own key; empty means the caller's {@code Authorization} is forwarded unchanged
   * @param concurrency the in-flight limit
   * @param cooldown the rest after consecutive failures; empty for a pool's only backend
   */
  public Backend(String id, String pool, URI baseUrl, Optional<Secret> apiKey, TokenBucket bucket,
      RetreatController retreat, ConcurrencyLimit concurrency, Optional<Cooldown> cooldown, Clock clock) {
    this.id = id;
    this.pool = pool;
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
    this.bucket = bucket;
    this.retreat = retreat;
    this.concurrency = concurrency;
    this.cooldown = cooldown;
    this.clock = clock;
  }

  /** What a request to this backend may do now. */
  public sealed interface Grant permits Granted, Wait, Out {}

  /** Go: send with this permit. */
  public record Granted(Permit permit) implements Grant {}

  /**
   * Not before {@code retryAtNanos}; {@code Long.MAX_VALUE} when only a release can make room (the concurrency
   * limit is reached), and the backend then says so through {@link #onCapacityChange}.
   */
  public record Wait(long retryAtNanos) implements Grant {}

  /** Out of service until revived or enabled; the backend says so through {@link #onCapacityChange}. */
  public record Out() implements Grant {
    public static final Out INSTANCE = new Out();
  }

  /** {@link #tryAcquire(long, boolean)} for a request other backends could serve. */
  public Grant tryAcquire(long nowNanos) {
    return tryAcquire(nowNanos, false);
  }

  /**
   * @param lastResort no other backend of the pool can serve now: a cooldown that ends within its precheck
   *     threshold does not hold the backend back, and a longer one holds it until it is that close to its end
   */
  public synchronized Grant tryAcquire(long nowNanos, boolean lastResort) {
    if (outOfService != null) {
      return Out.INSTANCE;
    }
    if (nowNanos < notBeforeNanos) {
      return new Wait(notBeforeNanos);
    }
    if (cooldown.isPresent() && cooldown.get().cooling(nowNanos)
        && !(lastResort && cooldown.get().endsWithinPrecheck(nowNanos))) {
      Cooldown c = cooldown.get();
      return new Wait(lastResort ? c.endNanos() - c.policy().precheck().toNanos() : c.endNanos());
    }
    if (inFlight >= concurrency.limit()) {
      return new Wait(Long.MAX_VALUE);
    }
    if (trimWhenHoldEnds) {
      trimWhenHoldEnds = false;
      bucket.keepAtMost(Math.max(1, bucket.rateRpm() / 60), nowNanos);
    }
    Admission admission = bucket.tryAcquire(nowNanos);
    if (!admission.granted()) {
      return new Wait(admission.retryAtNanos());
    }
    return new Granted(new Permit(this, retreat.epoch(), false, nowNanos, inFlight++, concurrency.limit()));
  }

  /**
   * Whether a request beyond the rate (queue-full passthrough) may go to this backend: not while the upstream's
   * {@code Retry-After} holds it, nor while the upstream is known to be at its limit (see
   * {@link RetreatController#atUpstreamLimit}); sending into a known 429 helps nobody.
   */
  public synchronized boolean acceptsUnshaped(long nowNanos) {
    return outOfService == null && nowNanos >= notBeforeNanos && !retreat.atUpstreamLimit(nowNanos)
        && (cooldown.isEmpty() || !cooldown.get().cooling(nowNanos)) && inFlight < concurrency.limit();
  }

  /**
   * A permit for a request beyond the rate (queue-full passthrough). It takes a token if one is free, and goes
   * without one otherwise: the shaped requests keep the whole rate.
   */
  public synchronized Permit unshapedPermit(long nowNanos) {
    bucket.tryAcquire(nowNanos);
    return new Permit(this, retreat.epoch(), true, nowNanos, inFlight++, concurrency.limit());
  }

  void onRelease(Permit permit, Attempt attempt) {
    long now = clock.nanoTime();
    boolean capacityChanged;
    OutOfService died = null;
    // The controller's verdict and the bucket's rate change together: two answers ending at once must not leave
    // the bucket at the older of their two rates.
    synchronized (this) {
      capacityChanged = inFlight-- >= concurrency.limit();
      if (attempt.failure() == Attempt.Failure.CANCELLED) {
        // Nothing to learn about the upstream; the slot it held is free all the same.
      } else if (!attempt.answered() || attempt.status() >= 500) {
        cool(now, permit, 0,
            attempt.answered() ? "upstream " + attempt.status() : "upstream " + describe(attempt.failure()));
      } else if (attempt.credentialsRefused() && apiKey.isPresent()) {
        if (outOfService == null) {
          outOfService = new OutOfService(false, clock.wallTimeMillis(), attempt.status());
          died = outOfService;
          capacityChanged = true; // waiters behind it may now spill, or be answered at once
        }
      } else if (attempt.rateLimited()) {
        capacityChanged |= onRateLimited(permit, attempt, now);
      } else {
        cooldown.ifPresent(Cooldown::onSuccess);
        if (attempt.status() >= 200 && attempt.status() < 300) {
          accepted++;
          long answerNanos = now - permit.grantedNanos();
          meanAnswerNanos = meanAnswerNanos == 0 ? answerNanos
              : meanAnswerNanos + (answerNanos - meanAnswerNanos) / 8;
          int limit = concurrency.limit();
          concurrency.onAnswer(answerNanos, permit.inFlightAtSend() + 1, false, clock.wallTimeMillis());
          capacityChanged |= concurrency.limit() > limit;
          capacityChanged |= judgeRate(permit, false, now);
        }
      }
    }
    if (died != null) {
      serviceListener.onChange(this, false, died.describe());
    }
    if (capacityChanged) {
      onCapacityChange.run();
    }
  }

  /** An upstream 429: holds, cools and classifies; returns whether the rate changed. Lock held. */
  private boolean onRateLimited(Permit permit, Attempt attempt, long now) {
    if (attempt.retryAfterNanos() > 0) {
      notBeforeNanos = Math.max(notBeforeNanos, now + attempt.retryAfterNanos());
    }
    // Unknown (-1) until an accepted answer has shown how long requests stay in flight.
    double expectedInFlight = meanAnswerNanos == 0 ? -1
        : bucket.rateRpm() / 60.0 * meanAnswerNanos / NANOS_PER_SECOND;
    lastRefusal = RefusalKind.of(attempt, permit.inFlightAtSend(), expectedInFlight);
    lastRefusalMillis = clock.wallTimeMillis();
    refusals.merge(lastRefusal, 1L, Long::sum);
    cool(now, permit, attempt.retryAfterNanos(), "upstream 429 (" + lastRefusal.label() + ")");
    // Only a refusal of a request sent under the limit in force lowers it: the refusals of one burst lower it once.
    if (lastRefusal == RefusalKind.CONCURRENCY && permit.concurrencyLimitAtSend() == concurrency.limit()) {
      concurrency.onAnswer(now - permit.grantedNanos(), permit.inFlightAtSend() + 1, true, lastRefusalMillis);
    }
    if (!lastRefusal.rateEvidence()) {
      return false;
    }
    bucket.keepAtMost(0, now);
    trimWhenHoldEnds |= notBeforeNanos > now;
    return judgeRate(permit, true, now);
  }

  /** Feeds the retreat controller; returns whether the bucket's rate changed. Lock held. */
  private boolean judgeRate(Permit permit, boolean rateEvidence, long now) {
    if (permit.unshaped()) {
      retreat.onUnshapedOutcome(rateEvidence, now);
      return false;
    }
    int rate = retreat.onOutcome(permit.epoch(), rateEvidence, now);
    if (rate == bucket.rateRpm()) {
      return false;
    }
    bucket.setRateRpm(rate, now);
    return true;
  }

  private void cool(long now, Permit permit, long retryAfterNanos, String cause) {
    cooldown.ifPresent(c -> c.onFailure(now, permit.grantedNanos(), clock.wallTimeMillis(), retryAfterNanos, cause));
  }

  private static String describe(Attempt.Failure failure) {
    return switch (failure) {
      case CONNECT -> "connect failure";
      case RESET -> "reset before answering";
      case TIMEOUT -> "no first byte in time";
      case NONE, CANCELLED -> "failure";
    };
  }

  /**
   * Puts a dead or disabled backend back in service (an operator's decision, or a successful probe with its key).
   * Returns false if it was in service already.
   */
  public boolean revive(String by) {
    return revive(by, true);
  }

  /**
   * Puts a dead backend back in service (a probe with its key succeeded); one an operator disabled meanwhile stays
   * disabled. Returns false if it was not dead.
   */
  public boolean reviveDead(String by) {
    return revive(by, false);
  }

  private boolean revive(String by, boolean evenDisabled) {
    synchronized (this) {
      if (outOfService == null || outOfService.disabled() && !evenDisabled) {
        return false;
      }
      outOfService = null;
    }
    serviceListener.onChange(this, true, "back in service: " + by);
    onCapacityChange.run();
    return true;
  }

  /**
   * Takes the backend out of service until {@link #revive} (an operator's decision); requests in flight finish.
   * Returns false if an operator had disabled it already.
   */
  public boolean disable() {
    OutOfService disabled;
    synchronized (this) {
      if (outOfService != null && outOfService.disabled()) {
        return false;
      }
      disabled = outOfService = new OutOfService(true, clock.wallTimeMillis(), 0);
    }
    serviceListener.onChange(this, false, disabled.describe());
    onCapacityChange.run(); // waiters may now spill, or be answered at once when no backend is left
    return true;
  }

  /** Learns when the backend goes out of service or comes back; set once by the composition root. */
  public void onServiceChange(ServiceListener listener) {
    this.serviceListener = listener;
  }

  /** Told when a backend goes out of service or comes back. */
  @FunctionalInterface
  public interface ServiceListener {
    /**
     * @param inService whether the backend is in service after the change
     * @param change what happened, for people, e.g. {@code dead: the upstream answered 401 to its key}
     */
    void onChange(Backend backend, boolean inService, String change);
  }

  /**
   * Changes the concurrency limit's mode or limit (an operator's decision: the change is given the wall time,
   * ms since the epoch), then lets waiters use the room it made.
   */
  public void changeConcurrency(ObjLongConsumer<ConcurrencyLimit> change) {
    synchronized (this) {
      change.accept(concurrency, clock.wallTimeMillis());
    }
    onCapacityChange.run();
  }

  /** Why the backend gets no traffic, or empty while it is in service. */
  public synchronized Optional<OutOfService> outOfService() {
    return Optional.ofNullable(outOfService);
  }

  /**
   * In flight relative to the concurrency limit, then tokens left relative to the capacity (reversed): smaller is
   * less loaded. For balanced selection.
   */
  public synchronized double load(long nowNanos) {
    return (double) inFlight / concurrency.limit()
        + (1.0 - (double) bucket.availableTokens(nowNanos) / bucket.capacity()) / 1_000.0;
  }

  /**
   * Ends a cooldown in progress and any hold of the upstream's {@code Retry-After} (an operator's decision: send
   * again now); returns false if the backend was neither cooling nor held.
   */
  public boolean endCooldown() {
    long now = clock.nanoTime();
    boolean was;
    synchronized (this) {
      was = cooldown.isPresent() && cooldown.get().cooling(now) || notBeforeNanos > now;
      cooldown.ifPresent(c -> c.clear(now, clock.wallTimeMillis(), "an operator"));
      notBeforeNanos = Long.MIN_VALUE;
    }
    if (was) {
      onCapacityChange.run();
    }
    return was;
  }

  /**
   * The backend's concurrency limit, for reading its mode, limit and history; change it through
   * {@link #changeConcurrency}, which also wakes the dispatcher.
   */
  public ConcurrencyLimit concurrency() {
    return concurrency;
  }

  /** The backend's cooldown, for reading its state and events; empty for a pool's only backend. */
  public Optional<Cooldown> cooldown() {
    return cooldown;
  }

  /** How many of the upstream's 429s were of each kind, since start. */
  public synchronized Map<RefusalKind, Long> refusals() {
    return Map.copyOf(refusals);
  }

  /** How many answers of the upstream were accepted (2xx), since start. */
  public synchronized long acceptedAnswers() {
    return accepted;
  }

  /** Wall time of the upstream's last 429, ms since the epoch; 0 before the first. */
  public synchronized long lastRefusalMillis() {
    return lastRefusalMillis;
  }

  /** Hot change of the configured rate; the bucket keeps the tokens it has. */
  public void setBaseRateRpm(int rateRpm) {
    long now = clock.nanoTime();
    synchronized (this) {
      bucket.setRateRpm(retreat.setBaseRpm(rateRpm, now), now);
    }
    onCapacityChange.run();
  }

  /** Hot change of the bucket's burst size; the tokens it holds stay, capped at the new capacity. */
  public void setCapacity(int capacity) {
    long now = clock.nanoTime();
    synchronized (this) {
      bucket.setCapacity(capacity, now);
    }
    onCapacityChange.run();
  }

  /**
   * Hot change of the retreat thresholds (see {@link RetreatController#setPolicy}): the state and rate in force
   * stay, judged afresh from now on; disabling retreat returns to the configured rate.
   */
  public void setRetreatPolicy(RetreatPolicy policy) {
    long now = clock.nanoTime();
    synchronized (this) {
      bucket.setRateRpm(retreat.setPolicy(policy, now), now);
    }
    onCapacityChange.run();
  }

  /** Called whenever this backend may serve sooner than it said (a rate change); set once by the dispatcher. */
  public void onCapacityChange(Runnable listener) {
    this.onCapacityChange = listener;
  }

  /** Whole tokens in the bucket at {@code nowNanos}. */
  public long availableTokens(long nowNanos) {
    return bucket.availableTokens(nowNanos);
  }

  /** Nanoseconds from {@code nowNanos} until this backend may be sent a request (token and hold); 0 when now. */
  public synchronized long nanosToNextToken(long nowNanos) {
    return Math.max(bucket.nanosToNextToken(nowNanos), notBeforeNanos > nowNanos ? notBeforeNanos - nowNanos : 0);
  }

  /** A consistent-enough picture for status pages and metrics. */
  public BackendSnapshot snapshot() {
    long now = clock.nanoTime();
    long notBefore;
    int requestsInFlight;
    RefusalKind lastKind;
    OutOfService out;
    Map<RefusalKind, Long> refused;
    synchronized (this) {
      notBefore = notBeforeNanos;
      requestsInFlight = inFlight;
      lastKind = lastRefusal;
      out = outOfService;
      refused = Map.copyOf(refusals);
    }
    Optional<Cooldown.Snapshot> cooling = cooldown.map(c -> c.snapshot(now));
    return new BackendSnapshot(id, pool, baseUrl, apiKey.isPresent(), bucket.availableTokens(now), bucket.capacity(),
        bucket.rateRpm(), retreat.snapshot(now), notBefore > now ? notBefore - now : 0, requestsInFlight,
        Optional.ofNullable(lastKind), concurrency.limit(), concurrency.adaptive(),
        cooling.map(Cooldown.Snapshot::remainingNanos).orElse(0L),
        cooling.map(Cooldown.Snapshot::consecutive).orElse(0), Optional.ofNullable(out), refused,
        cooling.map(Cooldown.Snapshot::started).orElse(0L));
  }

  public String id() {
    return id;
  }

  public String pool() {
    return pool;
  }

  public URI baseUrl() {
    return baseUrl;
  }

  public Optional<Secret> apiKey() {
    return apiKey;
  }

  public int rateRpm() {
    return bucket.rateRpm();
  }

  @Override
  public String toString() {
    return "Backend[id=" + id + ", pool=" + pool + ", baseUrl=" + baseUrl + ", apiKey="
        + apiKey.map(Secret::masked).orElse("none") + ", " + bucket + "]";
  }
}
