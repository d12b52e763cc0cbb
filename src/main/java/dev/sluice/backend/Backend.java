package dev.sluice.backend;

import dev.sluice.config.Secret;
import dev.sluice.limit.Admission;
import dev.sluice.limit.RetreatController;
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
 * <p>Thread-safe: the limiters are thread-safe; the {@code Retry-After} gate is guarded by this object's monitor
 * and only ever extended, and so is each pairing of a retreat verdict with the bucket's rate. The retreat
 * controller's listener (a log line) runs under it; the dispatcher's wake-up runs after it is released.
 */
public final class Backend {
  private final String id;
  private final String pool;
  private final URI baseUrl;
  private final Optional<Secret> apiKey;
  private final TokenBucket bucket;
  private final RetreatController retreat;
  private final Clock clock;
  private volatile Runnable onCapacityChange = () -> { };
  private long notBeforeNanos = Long.MIN_VALUE;

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

  public Grant tryAcquire(long nowNanos) {
    synchronized (this) {
      if (nowNanos < notBeforeNanos) {
        return new Wait(notBeforeNanos);
      }
    }
    Admission admission = bucket.tryAcquire(nowNanos);
    if (!admission.granted()) {
      return new Wait(admission.retryAtNanos());
    }
    return new Granted(new Permit(this, retreat.epoch()));
  }

  /**
   * A permit that takes a token at {@code nowNanos} even when none is left (the bucket goes into debt); for
   * queue-full passthrough.
   */
  public Permit forceAcquire(long nowNanos) {
    bucket.forceAcquire(nowNanos);
    return new Permit(this, retreat.epoch());
  }

  void onRelease(Permit permit, Attempt attempt) {
    if (!attempt.answered()) {
      return;
    }
    long now = clock.nanoTime();
    boolean rateChanged;
    // The controller's verdict and the bucket's rate change together: two answers ending at once must not leave
    // the bucket at the older of their two rates.
    synchronized (this) {
      if (attempt.rateLimited() && attempt.retryAfterNanos() > 0) {
        notBeforeNanos = Math.max(notBeforeNanos, now + attempt.retryAfterNanos());
      }
      int rate = retreat.onOutcome(permit.epoch(), attempt.rateLimited(), now);
      rateChanged = rate != bucket.rateRpm();
      if (rateChanged) {
        bucket.setRateRpm(rate, now);
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

  /** Called whenever this backend may serve sooner than it said (a rate change); set once by the dispatcher. */
  public void onCapacityChange(Runnable listener) {
    this.onCapacityChange = listener;
  }

  /** Nanoseconds from {@code nowNanos} until a token is available; 0 when one is. */
  public long nanosToNextToken(long nowNanos) {
    return bucket.nanosToNextToken(nowNanos);
  }

  /** A consistent-enough picture for status pages and metrics. */
  public BackendSnapshot snapshot() {
    long now = clock.nanoTime();
    long notBefore;
    synchronized (this) {
      notBefore = notBeforeNanos;
    }
    return new BackendSnapshot(id, pool, baseUrl, apiKey.isPresent(), bucket.availableTokens(now), bucket.capacity(),
        bucket.rateRpm(), retreat.snapshot(now), notBefore > now ? notBefore - now : 0);
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
