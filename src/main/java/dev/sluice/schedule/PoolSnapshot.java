package dev.sluice.schedule;

import dev.sluice.backend.BackendSnapshot;
import dev.sluice.backend.Priority;
import dev.sluice.config.FullPolicy;
import dev.sluice.limit.RetryBudget;
import java.util.List;
import java.util.Map;

/**
 * One pool's queue, settings, counters since start and backends at one instant, for status pages and metrics.
 *
 * @param pool the pool's name
 * @param size waiters in the queue
 * @param queueMaxSize waiters at most
 * @param depth waiters per priority, every level present
 * @param dispatched waiters sent upstream
 * @param timedOut waiters answered 429: past their deadline, or {@code low} at the head past its timeout
 * @param rejectedFull newcomers answered 503 because the queue was full
 * @param evicted waiters dropped to make room for a more urgent newcomer
 * @param passedThroughFull newcomers sent without waiting because the queue was full
 * @param refusedAtLimit newcomers answered 429 because the queue was full and every backend was at its upstream
 *     limit ({@code passthrough} policy)
 * @param requeued requests put back after an upstream 429 or failure, to go again
 * @param spilled waiters moved to the fallback pool after waiting {@code spill_after_seconds} (or at once when no
 *     backend was in service)
 * @param sentToEmergency waiters sent unshaped to an emergency upstream
 * @param noBackend waiters answered 503 because no backend of the pool was in service (all dead or disabled) and
 *     there was nowhere to spill them
 * @param retryBudget first attempts and retries in the retry budget's window now
 * @param backends the pool's backends, in declaration order
 */
public record PoolSnapshot(String pool, int size, int queueMaxSize, FullPolicy fullPolicy,
    Map<Priority, Integer> depth, long dispatched, long timedOut, long rejectedFull, long evicted,
    long passedThroughFull, long refusedAtLimit, long requeued, long spilled, long sentToEmergency, long noBackend,
    RetryBudget.Usage retryBudget, List<BackendSnapshot> backends) {}
