// The rules of the breaker in front of the application's Postgres (docs/resilience.md,
// "The database breaker"), as pure functions of its state: the shared breaker
// workflow applies them to every api's reports, and each api applies them to
// its own observations when it cannot reach the shared one. Imported by
// workflow code: no I/O, no clock of its own (times are passed in).

export type DbBreakerState = 'closed' | 'open' | 'half_open';

export interface DbBreakerConfig {
  /** the window the ratios are taken over */
  windowMs: number;
  /** calls in the window before it may open */
  minVolume: number;
  /** opens at this share of failed calls */
  failureRatio: number;
  /** a call slower than this is slow */
  slowMs: number;
  /** opens when more than this share of calls is slow: 0.01 is "p99 over slowMs" */
  slowRatio: number;
  /** how long it stays open before one probe */
  openMs: number;
  /** how long the probe's holder has to report before another may probe */
  probeHoldMs: number;
}

export const DB_BREAKER_DEFAULTS: DbBreakerConfig = {
  windowMs: 10_000,
  minVolume: 20,
  failureRatio: 0.5,
  slowMs: 1_000,
  slowRatio: 0.01,
  openMs: 30_000,
  probeHoldMs: 5_000,
};

/** Calls to the database seen by one api since its last report. */
export interface DbObservation {
  calls: number;
  failures: number;
  slow: number;
}

export interface DbBreaker {
  state: DbBreakerState;
  openedAt: number | null;
  /** half-open: who holds the one probe, until when */
  probe: { holder: string; until: number } | null;
  /** observations of the last windowMs, oldest first */
  window: Array<DbObservation & { at: number }>;
}

export function closedDbBreaker(): DbBreaker {
  return { state: 'closed', openedAt: null, probe: null, window: [] };
}

/** Adds observations; a closed breaker opens when the window's failures or slow calls reach their share. */
export function observeDb(b: DbBreaker, obs: DbObservation, now: number, config: DbBreakerConfig): DbBreaker {
  const window = [...b.window, { ...obs, at: now }].filter((o) => o.at > now - config.windowMs);
  if (b.state !== 'closed') return { ...b, window };
  const sum = window.reduce((s, o) => ({ calls: s.calls + o.calls, failures: s.failures + o.failures, slow: s.slow + o.slow }), { calls: 0, failures: 0, slow: 0 });
  const trips = sum.calls >= config.minVolume && (sum.failures >= config.failureRatio * sum.calls || sum.slow > config.slowRatio * sum.calls);
  return trips ? { state: 'open', openedAt: now, probe: null, window: [] } : { ...b, window };
}

/** The probe, for `reporter` if the breaker is due one: open past openMs, or half-open with its probe lapsed. */
export function grantProbe(b: DbBreaker, reporter: string, now: number, config: DbBreakerConfig): { breaker: DbBreaker; granted: boolean } {
  const due =
    (b.state === 'open' && b.openedAt !== null && now - b.openedAt >= config.openMs) ||
    (b.state === 'half_open' && (b.probe === null || b.probe.until <= now));
  if (!due) return { breaker: b, granted: b.state === 'half_open' && b.probe?.holder === reporter };
  return { breaker: { ...b, state: 'half_open', probe: { holder: reporter, until: now + config.probeHoldMs } }, granted: true };
}

/** The probe's outcome, from its holder: closed on success, open again on failure. */
export function probeOutcome(b: DbBreaker, reporter: string, ok: boolean, now: number): DbBreaker {
  if (b.state !== 'half_open' || b.probe?.holder !== reporter) return b;
  return ok ? closedDbBreaker() : { state: 'open', openedAt: now, probe: null, window: [] };
}

/** How long a caller should wait before trying again (0 when closed). */
export function dbRetryAfterMs(b: DbBreaker, now: number, config: DbBreakerConfig): number {
  if (b.state === 'closed') return 0;
  if (b.state === 'open' && b.openedAt !== null) return Math.max(1_000, b.openedAt + config.openMs - now);
  return Math.max(1_000, (b.probe?.until ?? now) - now);
}
