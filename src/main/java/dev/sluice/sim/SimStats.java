package dev.sluice.sim;

/**
 * Counters of a {@link SimServer} since it started or since the last reset. A snapshot; counters are read one by
 * one, so under load they may be a few requests apart.
 *
 * @param accepted model calls (chat, completions, embeddings) admitted by the limits, whatever happened next
 * @param rejected429 answers 429 (the sum of the three kinds below)
 * @param rejectedByRate 429s because of {@code rpm} (and forced {@code X-Sim-Fault: 429})
 * @param rejectedByConcurrency 429s because of {@code maxConcurrent}
 * @param rejectedByTokens 429s because of {@code tpm}
 * @param unauthorized calls answered 401 because their key is one of {@code rejectedKeys}; never admitted, so in
 *     no other counter
 * @param serverErrors answers 5xx, whether drawn by {@code errorRate} or forced by a request header
 * @param resets connections reset without an answer
 * @param stalls answers that went silent, half-way or (forced by {@code X-Sim-Fault: stall-first-byte}) before
 *     their headers
 * @param clientDisconnects responses abandoned because a write to the client failed
 * @param inFlight admitted model calls not yet finished
 * @param acceptedTokens prompt + completion tokens of the accepted calls
 */
public record SimStats(
    long accepted,
    long rejected429,
    long rejectedByRate,
    long rejectedByConcurrency,
    long rejectedByTokens,
    long unauthorized,
    long serverErrors,
    long resets,
    long stalls,
    long clientDisconnects,
    int inFlight,
    long acceptedTokens) {}
