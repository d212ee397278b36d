/**
 * Full jitter: a random delay in [0, min(cap, base * 2^(attempt-1))).
 * Temporal's retry policy has none, so activities pass this as nextRetryDelay;
 * a provider's Retry-After is a floor the delay never goes under.
 */
export function fullJitterDelayMs(
  attempt: number,
  policy: { initialIntervalMs: number; maximumIntervalMs: number },
  retryAfterMs = 0,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maximumIntervalMs, policy.initialIntervalMs * 2 ** Math.max(0, attempt - 1));
  // at least 1 ms: a zero delay would fall back to the policy's un-jittered interval
  return Math.max(retryAfterMs, 1, Math.floor(random() * ceiling));
}
