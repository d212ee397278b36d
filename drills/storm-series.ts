// What the provider went through during a retry-storm run, from the stub's
// /stats samples: offered load, calls answered well, calls that failed, and
// when (if ever) it was healthy again after the failure window.
import type { ProviderSample } from './provider-rate';

export interface StormPoint {
  t: number;
  /** calls that reached the provider, per second */
  offered: number;
  /** calls answered to a caller still waiting, without a fault, per second */
  ok: number;
  /** calls shed, faulted, or served after their caller had gone, per second */
  errors: number;
  /** calls waiting in the provider's queue at the sample */
  queue: number;
}

function counters(s: ProviderSample<unknown>): { attempts: number; ok: number; errors: number } {
  const c = s.stats.capacity.charges;
  return {
    attempts: s.stats.attempts,
    ok: c.served - c.abandoned - c.faulted,
    // faults_injected, not c.faulted: a hung call counts when the fault is picked, not when the hang ends
    errors: c.shed + c.abandoned + s.stats.faults_injected,
  };
}

/** Rates over the trailing `windowS` seconds at each sample (the first sample has none). */
export function stormSeries(samples: ProviderSample<unknown>[], windowS = 1): StormPoint[] {
  const points: StormPoint[] = [];
  let from = 0;
  samples.forEach((s, i) => {
    while (from < i && s.t - (samples[from + 1] as ProviderSample<unknown>).t >= windowS) from += 1;
    const first = samples[from] as ProviderSample<unknown>;
    const span = s.t - first.t;
    if (span <= 0) return;
    const [a, b] = [counters(first), counters(s)];
    points.push({
      t: s.t,
      offered: (b.attempts - a.attempts) / span,
      ok: Math.max(0, b.ok - a.ok) / span,
      errors: (b.errors - a.errors) / span,
      queue: s.stats.capacity.charges.queue,
    });
  });
  return points;
}

/**
 * Healthy: calls fail at most `maxErrorRatio` of the time and the provider
 * serves at least `minOkRate` calls a second (a provider nobody can reach is
 * not healthy, even with no errors).
 */
export function isHealthy(p: StormPoint, criteria: { maxErrorRatio: number; minOkRate: number }): boolean {
  return p.offered > 0 && p.errors <= criteria.maxErrorRatio * p.offered && p.ok >= criteria.minOkRate;
}

/**
 * Seconds from `fromS` (the end of the failure window) to the first point from
 * which every later point up to `untilS` is healthy; null when it was not
 * healthy for the last `holdS` seconds before `untilS`: not recovered in the run.
 */
export function recoverySeconds(
  points: StormPoint[],
  fromS: number,
  untilS: number,
  criteria: { maxErrorRatio: number; minOkRate: number; holdS: number },
): number | null {
  const span = points.filter((p) => p.t >= fromS && p.t <= untilS);
  let start: number | null = null;
  for (const p of span) {
    if (!isHealthy(p, criteria)) start = null;
    else if (start === null) start = p.t;
  }
  if (start === null || untilS - start < criteria.holdS) return null;
  return Math.max(0, start - fromS);
}

/** Spans where `open(sample)` held, e.g. the breaker not closed, as [from, to] seconds. */
export function spansWhere<E>(samples: ProviderSample<E>[], open: (s: ProviderSample<E>) => boolean): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  let from: number | null = null;
  for (const s of samples) {
    if (open(s) && from === null) from = s.t;
    if (!open(s) && from !== null) {
      spans.push([from, s.t]);
      from = null;
    }
  }
  if (from !== null) spans.push([from, samples.at(-1)?.t ?? from]);
  return spans;
}
