package dev.sluice.backend;

import dev.sluice.config.Secret;
import dev.sluice.limit.Admission;
import dev.sluice.limit.RetreatController;
import dev.sluice.limit.RetreatPolicy;
import dev.sluice.limit.TokenBucket;
import dev.sluice.time.Clock;
import java.net.URI;
import java.util.Optional;

/**
 * One upstream account of a pool, and the one place that decides whether it may be sent a request now:
 * {@link #tryAcquire} consults its limiters (the upstream's {@code Retry-After}, then the token bucket) and grants
 * a {@link Permit} or names the earliest instant to ask again. Released permits feed the retreat controller, whose
 * rate changes are applied to the bucket at once.
 *
 * <p>An upstream 429 that is evidence of a rate too high (see {@link RefusalKind}) also empties the bucket: the
 * burst it saved up is not there upstream. If the 429 came with a {@code Retry-After}, the backend sends nothing
 * until then and resumes with at most one second's worth of tokens, not with what piled up while it waited. A 429
 * about concurrency holds the backend for its {@code Retry-After} too, but neither empties the bucket nor judges
 * the rate.
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
  private final Clock clock;
  private volatile Runnable onCapacityChange = () -> { };
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
   */
  public Backend(String id, String pool, URI baseUrl, Optional<Secret> apiKey, TokenBucket bucket,
      RetreatController retreat, Clock clock) {
    this.id = id;
    this.pool = pool;
    this.baseUrl = baseUrl;
    this.apiKey = apiKey;
    this.bucket = bucket;
    this.retreat = retreat;
    this.clock = clock;
  }

  /** What a request to this backend may do now. */
  public sealed interface Grant permits Granted, Wait {}

  /** Go: send with this permit. */
  public record Granted(Permit permit) implements Grant {}

  /** Not before {@code retryAtNanos}. */
  public record Wait(long retryAtNanos) implements Grant {}

  public synchronized Grant tryAcquire(long nowNanos) {
    if (nowNanos < notBeforeNanos) {
      return new Wait(notBeforeNanos);
    }
    if (trimWhenHoldEnds) {
      trimWhenHoldEnds = false;
      bucket.keepAtMost(Math.max(1, bucket.rateRpm() / 60), nowNanos);
    }
    Admission admission = bucket.tryAcquire(nowNanos);
    if (!admission.granted()) {
      return new Wait(admission.retryAtNanos());
    }
    return new Granted(new Permit(this, retreat.epoch(), false, nowNanos, inFlight++));
  }

  /**
   * Whether a request beyond the rate (queue-full passthrough) may go to this backend: not while the upstream's
   * {@code Retry-After} holds it, nor while the upstream is known to be at its limit (see
   * {@link RetreatController#atUpstreamLimit}); sending into a known 429 helps nobody.
   */
  public synchronized boolean acceptsUnshaped(long nowNanos) {
    return nowNanos >= notBeforeNanos && !retreat.atUpstreamLimit(nowNanos);
  }

  /**
   * A permit for a request beyond the rate (queue-full passthrough). It takes a token if one is free, and goes
   * without one otherwise: the shaped requests keep the whole rate.
   */
  public synchronized Permit unshapedPermit(long nowNanos) {
    bucket.tryAcquire(nowNanos);
    return new Permit(this, retreat.epoch(), true, nowNanos, inFlight++);
  }

  void onRelease(Permit permit, Attempt attempt) {
    long now = clock.nanoTime();
    boolean rateChanged = false;
    // The controller's verdict and the bucket's rate change together: two answers ending at once must not leave
    // the bucket at the older of their two rates.
    synchronized (this) {
      inFlight--;
      if (!attempt.answered()) {
        return;
      }
      boolean rateEvidence = false;
      if (attempt.rateLimited()) {
        if (attempt.retryAfterNanos() > 0) {
          notBeforeNanos = Math.max(notBeforeNanos, now + attempt.retryAfterNanos());
        }
        // Unknown (-1) until an accepted answer has shown how long requests stay in flight.
        double expectedInFlight = meanAnswerNanos == 0 ? -1
            : bucket.rateRpm() / 60.0 * meanAnswerNanos / NANOS_PER_SECOND;
        lastRefusal = RefusalKind.of(attempt, permit.inFlightAtSend(), expectedInFlight);
        rateEvidence = lastRefusal.rateEvidence();
        if (!rateEvidence) {
          return;
        }
        bucket.keepAtMost(0, now);
        trimWhenHoldEnds |= notBeforeNanos > now;
      } else if (attempt.status() >= 200 && attempt.status() < 300) {
        long answerNanos = now - permit.grantedNanos();
        meanAnswerNanos = meanAnswerNanos == 0 ? answerNanos : meanAnswerNanos + (answerNanos - meanAnswerNanos) / 8;
      }
      if (permit.unshaped()) {
        retreat.onUnshapedOutcome(rateEvidence, now);
      } else {
        int rate = retreat.onOutcome(permit.epoch(), rateEvidence, now);
        rateChanged = rate != bucket.rateRpm();
        if (rateChanged) {
          bucket.setRateRpm(rate, now);
        }
      }
    }
    if (rateChanged) {
      onCapacityChange.run();
    }
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
    synchronized (this) {
      notBefore = notBeforeNanos;
      requestsInFlight = inFlight;
      lastKind = lastRefusal;
    }
    return new BackendSnapshot(id, pool, baseUrl, apiKey.isPresent(), bucket.availableTokens(now), bucket.capacity(),
        bucket.rateRpm(), retreat.snapshot(now), notBefore > now ? notBefore - now : 0, requestsInFlight,
        Optional.ofNullable(lastKind));
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
