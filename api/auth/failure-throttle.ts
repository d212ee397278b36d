// Failed authentications per client address, in this process's memory: past
// the limit in a minute, the address gets 429 before any key is looked up,
// so guessing keys costs the guesser time and the database nothing.
const WINDOW_MS = 60_000;
/** Addresses remembered at most; the oldest are forgotten first. */
const MAX_ADDRESSES = 10_000;

export interface FailureThrottle {
  /** ms until the address may try again; 0 when it may now */
  retryAfterMs(address: string): number;
  recordFailure(address: string): void;
}

export function createFailureThrottle(perMinute: number, now: () => number = Date.now): FailureThrottle {
  const failures = new Map<string, number[]>();
  const recent = (address: string): number[] => {
    const since = now() - WINDOW_MS;
    const kept = (failures.get(address) ?? []).filter((at) => at > since);
    if (kept.length === 0) failures.delete(address);
    else failures.set(address, kept);
    return kept;
  };
  return {
    retryAfterMs(address) {
      const kept = recent(address);
      if (kept.length < perMinute) return 0;
      // free again when the oldest failure counted leaves the window
      return Math.max(1, (kept[kept.length - perMinute] as number) + WINDOW_MS - now());
    },
    recordFailure(address) {
      const kept = recent(address);
      failures.delete(address); // re-inserted last: Map order is least recently failed first
      failures.set(address, [...kept.slice(-perMinute), now()]);
      if (failures.size > MAX_ADDRESSES) failures.delete(failures.keys().next().value as string);
    },
  };
}
