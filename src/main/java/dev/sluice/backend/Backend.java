package dev.sluice.backend;

import dev.sluice.config.Secret;
import dev.sluice.limit.Admission;
import dev.sluice.limit.ConcurrencyLimit;
import dev.sluice.limit.Cooldown;
import dev.sluice.limit.HeaderPacing;
import dev.sluice.limit.QuotaGuard;
import dev.sluice.limit.QuotaState;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.RetreatSnapshot;
import dev.sluice.limit.RetreatState;
import dev.sluice.limit.TokenBucket;
import dev.sluice.limit.TokenWindow;
import dev.sluice.limit.TokensPerMinute;
import dev.sluice.time.Clock;
import dev.sluice.time.Waits;
import java.net.URI;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.ObjLongConsumer;

/**
 * One upstream account of a pool, and the one place that decides whether it may be sent a request now:
 * {@link #tryAcquire} consults its limiters and grants a {@link Permit} or names the earliest instant to ask again.
 * In order: out of service (dead after the upstream refused its key, or disabled by an operator), the upstream's
 * {@code Retry-After}, the quota guard (a token budget over a long window: when exceeded, one probe per interval),
 * the cooldown after consecutive failures, the concurrency limit, what the provider's {@code x-ratelimit-*} headers
 * said remains, then the token bucket and the tokens-per-minute budget (the request reserves its estimated tokens,
 * settled on the usage its answer reports). Released permits feed the retreat controller (whose rate changes are
 * applied to the bucket at once), the cooldown, the concurrency limit and the quota guard.
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
  private static final long NANOS_PER_MILLI = 1_000_000L;
  /** The highest rate a provider's header may raise a backend to: the configured rate's own bound. */
  private static final long MAX_RAISED_RPM = 100_000;

  private final String id;
  private final String pool;
  private final URI baseUrl;
  private final Optional<Secret> apiKey;
  private final TokenBucket bucket;
  private final RetreatController retreat;
  private final ConcurrencyLimit concurrency;
  /** Empty when the backend is its pool's only one: there is nowhere else to send its traffic meanwhile. */
  private final Optional<Cooldown> cooldown;
  private final TokenLimits tokens;
  private final HeaderPacing pacing = new HeaderPacing();
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
   * @param tokens the token budgets
   */
  public Backend(String id, String pool, URI baseUrl, Optional<Secret> apiKey, TokenBucket bucket,
      RetreatController retreat, ConcurrencyLimit concurrency, Optional<Cooldown> cooldown, TokenLimits tokens,
      Clock clock) {
    this.id = id;
    this.pool = pool;
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
    this.bucket = bucket;
    this.retreat = retreat;
    this.concurrency = concurrency;
    this.cooldown = cooldown;
    this.tokens = tokens;
    this.clock = clock;
  }

  /**
   * A backend's token budgets.
   *
   * @param quota the long-horizon budget (without one configured, it holds the backend back only after the
   *     provider's quota error)
   * @param perMinute the tokens-per-minute budget, if the backend has one
   * @param raiseFromHeaders whether the provider's {@code x-ratelimit-limit-*} may raise a lower configured rate
   */
  public record TokenLimits(QuotaGuard quota, Optional<TokensPerMinute> perMinute, boolean raiseFromHeaders) {
    /** No token budget of its own: only the provider's quota errors hold the backend back. */
    public static TokenLimits none() {
      return new TokenLimits(new QuotaGuard(QuotaGuard.Policy.capErrorsOnly()), Optional.empty(), false);
    }
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

  /** {@link #tryAcquire(long, long, boolean)} for a request without a token estimate that others could serve. */
  public Grant tryAcquire(long nowNanos) {
    return tryAcquire(nowNanos, 0, false);
  }

  /**
   * @param estimatedTokens the tokens the request is expected to use (prompt and completion): what it reserves of
   *     the tokens-per-minute budget (at most its capacity) and what the provider's remaining tokens must cover
   * @param lastResort no other backend of the pool can serve now: a cooldown that ends within its precheck
   *     threshold does not hold the backend back, and a longer one holds it until it is that close to its end
   */
  public Grant tryAcquire(long nowNanos, long estimatedTokens, boolean lastResort) {
    Grant grant = acquire(nowNanos, estimatedTokens, lastResort);
    tellQuotaChange();
    return grant;
  }

  private synchronized Grant acquire(long nowNanos, long estimatedTokens, boolean lastResort) {
    if (outOfService != null) {
      return Out.INSTANCE;
    }
    if (nowNanos < notBeforeNanos) {
      return new Wait(notBeforeNanos);
    }
    long wallMillis = clock.wallTimeMillis();
    QuotaGuard.Decision quota = tokens.quota().admit(wallMillis);
    if (quota instanceof QuotaGuard.Hold(long untilMillis)) {
      return new Wait(untilMillis == Long.MAX_VALUE ? Long.MAX_VALUE
          : Waits.saturatedAdd(nowNanos, (untilMillis - wallMillis) * NANOS_PER_MILLI));
    }
    if (cooldown.isPresent() && cooldown.get().cooling(nowNanos)
        && !(lastResort && cooldown.get().endsWithinPrecheck(nowNanos))) {
      Cooldown c = cooldown.get();
      return new Wait(lastResort ? c.endNanos() - c.policy().precheck().toNanos() : c.endNanos());
    }
    if (inFlight >= concurrency.limit()) {
      return new Wait(Long.MAX_VALUE);
    }
    long cost = tokens.perMinute().map(t -> t.costOf(estimatedTokens)).orElse(Math.max(0, estimatedTokens));
    long pacedUntil = pacing.allowedAt(cost, nowNanos);
    if (pacedUntil > nowNanos) {
      return new Wait(pacedUntil);
    }
    long tokensIn = tokens.perMinute().map(t -> t.nanosUntil(cost, nowNanos)).orElse(0L);
    if (tokensIn > 0) {
      return new Wait(nowNanos + tokensIn);
    }
    if (trimWhenHoldEnds) {
      trimWhenHoldEnds = false;
      bucket.keepAtMost(Math.max(1, bucket.rateRpm() / 60), nowNanos);
    }
    Admission admission = bucket.tryAcquire(nowNanos);
    if (!admission.granted()) {
      return new Wait(admission.retryAtNanos());
    }
    if (tokens.perMinute().isPresent() && !tokens.perMinute().get().tryReserve(cost, nowNanos).granted()) {
      throw new IllegalStateException("tokens checked under this lock are gone: " + this);
    }
    pacing.onSent(cost, nowNanos);
    long previousProbe = quota instanceof QuotaGuard.Admit(boolean probe) && probe
        ? tokens.quota().probeSent(wallMillis) : Permit.NOT_A_PROBE;
    return new Granted(new Permit(this, retreat.epoch(), false, nowNanos, inFlight++, concurrency.limit(), cost,
        previousProbe));
  }

  /**
   * Whether a request beyond the rate (queue-full passthrough) may go to this backend: not while the upstream's
   * {@code Retry-After} holds it, nor while the upstream is known to be at its limit (see
   * {@link RetreatController#atUpstreamLimit}); sending into a known 429 helps nobody.
   */
  public synchronized boolean acceptsUnshaped(long nowNanos) {
    return outOfService == null && nowNanos >= notBeforeNanos && !retreat.atUpstreamLimit(nowNanos)
        && (cooldown.isEmpty() || !cooldown.get().cooling(nowNanos)) && inFlight < concurrency.limit()
        && tokens.quota().state(clock.wallTimeMillis()) == QuotaState.WITHIN_QUOTA
        && pacing.allowedAt(0, nowNanos) <= nowNanos;
  }

  /**
   * A permit for a request beyond the rate (queue-full passthrough). It takes a token if one is free, and goes
   * without one otherwise: the shaped requests keep the whole rate.
   */
  public synchronized Permit unshapedPermit(long nowNanos) {
    bucket.tryAcquire(nowNanos);
    pacing.onSent(0, nowNanos);
    return new Permit(this, retreat.epoch(), true, nowNanos, inFlight++, concurrency.limit(), 0, Permit.NOT_A_PROBE);
  }

  void onRelease(Permit permit, Attempt attempt) {
    long now = clock.nanoTime();
    boolean capacityChanged;
    OutOfService died = null;
    // The controller's verdict and the bucket's rate change together: two answers ending at once must not leave
    // the bucket at the older of their two rates.
    synchronized (this) {
      capacityChanged = inFlight-- >= concurrency.limit();
      capacityChanged |= settleTokens(permit, attempt, now);
      if (attempt.failure() == Attempt.Failure.CANCELLED) {
        // Nothing to learn about the upstream; the slot it held is free all the same.
      } else if (attempt.quotaError() && apiKey.isPresent()) {
        // The quota guard holds the backend now; a spent budget says nothing about its rate or its key.
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
    tellQuotaChange();
    if (capacityChanged) {
      onCapacityChange.run();
    }
  }

  /**
   * Settles the permit's token reservation on what the attempt used, and tells the quota guard; returns whether
   * that made room (tokens given back, or a probe answered). Lock held.
   */
  private boolean settleTokens(Permit permit, Attempt attempt, long now) {
    boolean room = tokens.perMinute()
        .map(t -> t.settle(permit.reservedTokens(), attempt.usedTokens(), permit.grantedNanos(), now)).orElse(false);
    QuotaGuard quota = tokens.quota();
    if (!attempt.answered()) {
      if (permit.probe()) {
        if (attempt.failure() == Attempt.Failure.CANCELLED || attempt.failure() == Attempt.Failure.CONNECT) {
          quota.onProbeLost(permit.previousProbeMillis()); // it never reached the provider: the next may go now
        } else {
          quota.onProbeUnanswered();
        }
        room = true;
      }
      return room;
    }
    boolean accepted = attempt.status() >= 200 && attempt.status() < 300;
    // Without a key of its own the backend forwards the caller's: a quota error there is that caller's alone.
    boolean quotaError = attempt.quotaError() && apiKey.isPresent();
    room |= quota.onAnswer(clock.wallTimeMillis(), attempt.usedTokens(), permit.probe(), accepted, quotaError,
        attempt.retryAfterNanos() / NANOS_PER_MILLI,
        quotaError ? "the provider answered " + attempt.status() + " with its quota error" : "");
    return room || permit.probe();
  }

  /**
   * The provider's {@code x-ratelimit-*} headers of an answer that just arrived: until their resets, no more is
   * sent than they say remains; with {@link TokenLimits#raiseFromHeaders} their limits raise a lower configured
   * rate (requests per minute, and tokens per minute when the backend has a budget for them).
   */
  public void onRateHeaders(RateHeaders headers, long nowNanos) {
    if (!headers.present()) {
      return;
    }
    boolean raised = false;
    synchronized (this) {
      pacing.onHeaders(headers.limitRequests(), headers.remainingRequests(), headers.resetRequestsNanos(),
          headers.limitTokens(), headers.remainingTokens(),
          headers.resetTokensNanos(), nowNanos);
      // Only limits of a window of a minute at most read as per-minute rates (some providers count per day).
      if (tokens.raiseFromHeaders() && perMinuteWindow(headers.resetRequestsNanos())) {
        long limit = Math.min(headers.limitRequests(), MAX_RAISED_RPM);
        if (limit > retreat.baseRpm()) {
          bucket.setRateRpm(retreat.setBaseRpm((int) limit, RetreatController.Cause.PROVIDER, nowNanos), nowNanos);
          raised = true;
        }
      }
      if (tokens.raiseFromHeaders() && perMinuteWindow(headers.resetTokensNanos())) {
        var perMinute = tokens.perMinute();
        if (perMinute.isPresent() && headers.limitTokens() > perMinute.get().tpm()) {
          perMinute.get().setTpm(headers.limitTokens());
          raised = true;
        }
      }
    }
    if (raised) {
      onCapacityChange.run();
    }
  }

  private static boolean perMinuteWindow(long resetNanos) {
    return resetNanos >= 0 && resetNanos <= 60 * NANOS_PER_SECOND;
  }

  /** An upstream 429: holds, cools and classifies; returns whether the rate changed. Lock held. */
  private boolean onRateLimited(Permit permit, Attempt attempt, long now) {
    if (attempt.retryAfterNanos() > 0) {
      notBeforeNanos = Math.max(notBeforeNanos, now + attempt.retryAfterNanos());
    }
    // Unknown (-1) until an accepted answer has shown how long requests stay in flight.
    double expectedInFlight = meanAnswerNanos == 0 ? -1
        : bucket.rateRpm() / 60.0 * meanAnswerNanos / NANOS_PER_SECOND;
    lastRefusal = RefusalKind.of(attempt, permit.inFlightAtSend(), expectedInFlight, permit.reservedTokens());
    lastRefusalMillis = clock.wallTimeMillis();
    refusals.merge(lastRefusal, 1L, Long::sum);
    cool(now, permit, attempt.retryAfterNanos(), "upstream 429 (" + lastRefusal.label() + ")");
    // Only a refusal of a request sent under the limit in force lowers it: the refusals of one burst lower it once.
    if (lastRefusal == RefusalKind.CONCURRENCY && permit.concurrencyLimitAtSend() == concurrency.limit()) {
      concurrency.onAnswer(now - permit.grantedNanos(), permit.inFlightAtSend() + 1, true, lastRefusalMillis);
    }
    // A refusal about tokens, where the backend paces its tokens itself, says nothing about its request rate: cutting
    // that would cap the tokens far below the limit.
    if (!lastRefusal.rateEvidence() || lastRefusal == RefusalKind.TPM && tokens.perMinute().isPresent()) {
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

  /** Tells the service listener of the quota guard's last change of state, if any. Not under this monitor. */
  private void tellQuotaChange() {
    QuotaGuard quota = tokens.quota();
    if (quota.changed()) {
      QuotaGuard.Change change = quota.takeChange();
      if (change != null) {
        serviceListener.onChange(this, change.withinQuota(), change.message());
      }
    }
  }

  /**
   * Learns when the backend goes out of service (dead, disabled, quota exceeded) or comes back; set once by the
   * composition root.
   */
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

  /**
   * Nanoseconds from {@code nowNanos} until this backend may be sent a request expected to use
   * {@code estimatedTokens} as far as its rates go (request token, tokens per minute, the provider's remaining
   * counts, the upstream's hold, the quota guard's next probe); 0 when now.
   */
  public synchronized long nanosUntilServable(long nowNanos, long estimatedTokens) {
    long hold = notBeforeNanos > nowNanos ? notBeforeNanos - nowNanos : 0;
    long wait = Math.max(bucket.nanosToNextToken(nowNanos), hold);
    long cost = tokens.perMinute().map(t -> t.costOf(estimatedTokens)).orElse(Math.max(0, estimatedTokens));
    wait = Math.max(wait, pacing.allowedAt(cost, nowNanos) - nowNanos);
    long perMinute = tokens.perMinute().map(t -> t.nanosUntil(cost, nowNanos)).orElse(0L);
    wait = Math.max(wait, perMinute);
    long wallMillis = clock.wallTimeMillis();
    if (tokens.quota().admit(wallMillis) instanceof QuotaGuard.Hold(long untilMillis)) {
      // While a probe is out only its answer can tell; the next probe's time stands for it.
      long until = untilMillis == Long.MAX_VALUE ? tokens.quota().snapshot(wallMillis).nextProbeMillis() : untilMillis;
      wait = Math.max(wait, (until - wallMillis) * NANOS_PER_MILLI);
    }
    return Math.max(0, wait);
  }

  /** What this backend must remember across a restart, as of now (its usage apart: {@link #changedUsage}). */
  public SavedState saved() {
    long now = clock.nanoTime();
    long wallMillis = clock.wallTimeMillis();
    synchronized (this) {
      long cooldownEnd = 0;
      int consecutive = 0;
      if (cooldown.isPresent()) {
        Cooldown.Snapshot c = cooldown.get().snapshot(now);
        consecutive = c.consecutive();
        cooldownEnd = c.cooling() ? wallMillis + Math.ceilDiv(c.remainingNanos(), NANOS_PER_MILLI) : 0;
      }
      RetreatSnapshot r = retreat.snapshot(now);
      QuotaGuard.Saved q = tokens.quota().saved();
      return new SavedState(id, Optional.ofNullable(outOfService), consecutive, cooldownEnd, concurrency.adaptive(),
          concurrency.limit(), r.state().name(), r.currentRpm(), q.exceeded(), q.capErrorSinceMillis(), q.capErrorMessage(),
          q.lastProbeMillis(), q.probeIntervalMillis());
    }
  }

  /** The minutes whose token usage changed since the last call, with their counts now, for the store. */
  public List<UsageMinute> changedUsage() {
    return tokens.quota().drainChangedUsage().stream().map(m -> new UsageMinute(m.minute(), m.tokens())).toList();
  }

  /**
   * Takes up what was saved before a restart, before any traffic: out of service, cooldown, learned concurrency
   * limit, retreat and the quota guard with its window's usage. What the configuration now says otherwise wins: a
   * limit is only restored if it is still learned, a retreat only below the configured rate.
   */
  public void restore(SavedState saved, List<UsageMinute> usage) {
    long now = clock.nanoTime();
    long wallMillis = clock.wallTimeMillis();
    synchronized (this) {
      outOfService = saved.outOfService().orElse(null);
      long coolingMillis = saved.cooldownEndMillis() - wallMillis;
      cooldown.ifPresent(c -> c.restore(saved.cooldownConsecutive(),
          coolingMillis > 0 ? now + coolingMillis * NANOS_PER_MILLI : Long.MIN_VALUE));
      if (saved.adaptiveConcurrency()) {
        concurrency.restoreLearned(Math.clamp(saved.concurrencyLimit(), ConcurrencyLimit.MIN_LIMIT,
            ConcurrencyLimit.MAX_LIMIT), wallMillis);
      }
      // A state this version does not know (written by a newer one) is taken as NORMAL: the configured rate.
      RetreatState state = java.util.Arrays.stream(RetreatState.values())
          .filter(known -> known.name().equals(saved.retreatState())).findFirst().orElse(RetreatState.NORMAL);
      bucket.setRateRpm(retreat.restore(state, Math.max(1, saved.retreatRateRpm()), now), now);
      tokens.quota().restore(new QuotaGuard.Saved(saved.quotaExceeded(), saved.quotaCapErrorSinceMillis(),
          saved.quotaCapErrorMessage(), saved.quotaLastProbeMillis(), saved.quotaProbeIntervalMillis()),
          usage.stream().map(u -> new TokenWindow.Minute(u.minute(), u.tokens())).toList(), wallMillis);
    }
  }

  /** Tokens per minute this backend may be sent; 0 when it has no such limit. */
  public long tpm() {
    return tokens.perMinute().map(TokensPerMinute::tpm).orElse(0L);
  }

  /** The quota guard. */
  public QuotaGuard quota() {
    return tokens.quota();
  }

  /**
   * Resets the quota guard (an operator's decision): its window forgets the usage counted and the backend is within
   * quota again; waiters may use it at once.
   */
  public void resetQuota() {
    synchronized (this) {
      tokens.quota().reset();
    }
    tellQuotaChange();
    onCapacityChange.run();
  }

  /** A consistent-enough picture for status pages and metrics. */
  public BackendSnapshot snapshot() {
    long now = clock.nanoTime();
    long notBefore;
    int requestsInFlight;
    RefusalKind lastKind;
    OutOfService out;
    Map<RefusalKind, Long> refused;
    long requestsLeft;
    long tokensLeft;
    synchronized (this) {
      notBefore = notBeforeNanos;
      requestsInFlight = inFlight;
      lastKind = lastRefusal;
      out = outOfService;
      refused = Map.copyOf(refusals);
      requestsLeft = pacing.requestsLeft(now);
      tokensLeft = pacing.tokensLeft(now);
    }
    Optional<Cooldown.Snapshot> cooling = cooldown.map(c -> c.snapshot(now));
    return new BackendSnapshot(id, pool, baseUrl, apiKey.isPresent(), bucket.availableTokens(now), bucket.capacity(),
        bucket.rateRpm(), retreat.snapshot(now), notBefore > now ? notBefore - now : 0, requestsInFlight,
        Optional.ofNullable(lastKind), concurrency.limit(), concurrency.adaptive(),
        cooling.map(Cooldown.Snapshot::remainingNanos).orElse(0L),
        cooling.map(Cooldown.Snapshot::consecutive).orElse(0), Optional.ofNullable(out), refused,
        cooling.map(Cooldown.Snapshot::started).orElse(0L), tokens.quota().snapshot(clock.wallTimeMillis()), tpm(),
        tokens.perMinute().map(t -> t.available(now)).orElse(0L), requestsLeft, tokensLeft);
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
