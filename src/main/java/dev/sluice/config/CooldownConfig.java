package dev.sluice.config;

/**
 * Cooldown after an upstream failure (a 429, a 5xx, a connect failure, a reset, a first-byte timeout): the n-th
 * consecutive one rests the backend {@code base × 2^(n-1)} seconds ({@code base × n} when not exponential), capped
 * at {@code maxSeconds}. Applies in pools of two or more backends.
 *
 * @param baseSeconds first cooldown in seconds; 1..3600, default 5
 * @param maxSeconds longest cooldown in seconds; base..86400, default 300
 * @param exponential doubling (true, default) or linear growth
 * @param precheckSeconds a backend whose cooldown ends within this many seconds is passed over while another can
 *     serve; 0..3600, default 2
 */
public record CooldownConfig(int baseSeconds, int maxSeconds, boolean exponential, int precheckSeconds) {
  public static CooldownConfig defaults() {
    return new CooldownConfig(5, 300, true, 2);
  }
}
