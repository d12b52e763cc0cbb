package dev.sluice.sim;

/**
 * Counters of a {@link SimServer} since it started or since the last reset, and the tokens its windows hold now. A
 * snapshot; counters are read one by one, so under load they may be a few requests apart.
 *
 * @param accepted model calls (chat, completions, embeddings) admitted by the limits, whatever happened next
 * @param rejected429 answers 429 by the limits: the refusals below, the quota ones only while {@code quotaStatus}
 *     is 429
 * @param rejectedByRate 429s because of {@code rpm} (and forced {@code X-Sim-Fault: 429})
 * @param rejectedByConcurrency 429s because of {@code maxConcurrent}
 * @param rejectedByTokens 429s because of {@code tpm}, for calls that fit in it later
 * @param rejectedTooLarge 429s because the call alone is larger than {@code tpm} ({@code Request too large})
 * @param rejectedByQuota quota errors because of {@code tokenBudget}, whatever their status
 * @param unauthorized calls answered 401 because their key is one of {@code rejectedKeys}; never admitted, so in
 *     no other counter
 * @param serverErrors answers 5xx, whether drawn by {@code errorRate} or forced by a request header
 * @param resets connections reset without an answer
 * @param stalls answers that went silent, half-way or (forced by {@code X-Sim-Fault: stall-first-byte}) before
 *     their headers
 * @param clientDisconnects responses abandoned because a write to the client failed
 * @param inFlight admitted model calls not yet finished
 * @param acceptedTokens prompt + completion tokens of the accepted calls
 * @param tokensLastMinute tokens accepted in the last 60 s, what {@code tpm} counts; not reset with the counters
 * @param budgetWindowTokens tokens accepted in the last {@code budgetWindowSeconds}, what {@code tokenBudget}
 *     counts (also while no budget is set); not reset with the counters
 */
public record SimStats(
    long accepted,
    long rejected429,
    long rejectedByRate,
    long rejectedByConcurrency,
    long rejectedByTokens,
    long rejectedTooLarge,
    long rejectedByQuota,
    long unauthorized,
    long serverErrors,
    long resets,
    long stalls,
    long clientDisconnects,
    int inFlight,
    long acceptedTokens,
    long tokensLastMinute,
    long budgetWindowTokens) {}
