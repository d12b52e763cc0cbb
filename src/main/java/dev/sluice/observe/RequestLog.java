package dev.sluice.observe;

import dev.sluice.backend.Outcome;
import dev.sluice.backend.OutcomeListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Writes one structured line per finished request to the {@code sluice.request} logger: request id, method,
 * path, pool, backend, model, priority, stream, status, failure, queue wait, upstream, upstream first byte,
 * Sluice's overhead and total milliseconds, bytes, upstream attempts and tokens (with {@code tokens_estimated: true}
 * when the upstream reported no usage and the counts are Sluice's estimate). The shipped logback
 * configuration renders it as JSON through an asynchronous appender, so the request thread only enqueues. Never
 * logs headers or bodies, so never a key.
 */
public final class RequestLog implements OutcomeListener {
  private static final Logger LOG = LoggerFactory.getLogger("sluice.request");

  @Override
  public void onOutcome(Outcome o) {
    if (!LOG.isInfoEnabled()) {
      return;
    }
    LoggingEventBuilder line = LOG.atInfo()
        .addKeyValue("request_id", o.requestId())
        .addKeyValue("method", o.method())
        .addKeyValue("path", o.path())
        .addKeyValue("pool", o.pool().orElse(null))
        .addKeyValue("backend", o.backendId().orElse(null))
        .addKeyValue("model", o.model().orElse(null))
        .addKeyValue("priority", o.priority().label())
        .addKeyValue("stream", o.stream())
        .addKeyValue("status", o.status())
        .addKeyValue("queue_ms", millis(o.queueNanos()))
        .addKeyValue("upstream_ms", millis(o.upstreamNanos()))
        .addKeyValue("first_byte_ms", millis(o.firstByteNanos()))
        .addKeyValue("overhead_ms", millis(o.overheadNanos()))
        .addKeyValue("total_ms", millis(o.totalNanos()))
        .addKeyValue("bytes", o.responseBytes())
        .addKeyValue("attempts", o.attempts());
    if (o.failure() != Outcome.Failure.NONE) {
      line = line.addKeyValue("failure", o.failure().label());
    }
    if (!o.retried().isEmpty()) {
      line = line.addKeyValue("retried", String.join(",", o.retried()));
    }
    if (o.usage().isPresent()) {
      line = line.addKeyValue("prompt_tokens", o.usage().get().promptTokens())
          .addKeyValue("completion_tokens", o.usage().get().completionTokens())
          .addKeyValue("total_tokens", o.usage().get().totalTokens());
      if (o.usage().get().estimated()) {
        line = line.addKeyValue("tokens_estimated", true);
      }
    }
    line.log("request");
  }

  private static double millis(long nanos) {
    return Math.round(nanos / 1_000.0) / 1_000.0;
  }
}
