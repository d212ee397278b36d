// How the retry-storm drill reads a run: rates from the stub's counters, and
// when (if ever) the provider was healthy again after the failure window.
import { describe, expect, it } from 'vitest';
import type { ProviderSample } from '../../drills/provider-rate';
import { recoverySeconds, spansWhere, stormSeries, type StormPoint } from '../../drills/storm-series';

/** A sample at t whose counters are the running totals given. */
function sample(t: number, c: { attempts: number; served: number; shed?: number; abandoned?: number; faulted?: number; faults?: number }, extra = 'closed') {
  const charges = { in_service: 0, queue: 0, shed: c.shed ?? 0, served: c.served, abandoned: c.abandoned ?? 0, faulted: c.faulted ?? 0 };
  return {
    t,
    attempts: c.attempts,
    extra,
    stats: {
      attempts: c.attempts,
      charges_applied: 0,
      replays: 0,
      faults_injected: c.faults ?? 0,
      refunds_applied: 0,
      declines: 0,
      capacity: { charges, refunds: { ...charges, shed: 0, served: 0, abandoned: 0, faulted: 0 } },
    },
  } satisfies ProviderSample<string>;
}

const point = (t: number, offered: number, ok: number, errors: number): StormPoint => ({ t, offered, ok, errors, queue: 0 });
const HEALTHY = { maxErrorRatio: 0.05, minOkRate: 3, holdS: 5 };

describe('stormSeries', () => {
  it('turns counters into per-second rates: ok is served minus abandoned and faulted; failed is shed, abandoned and faults', () => {
    const points = stormSeries([
      sample(0, { attempts: 0, served: 0 }),
      sample(1, { attempts: 20, served: 10, shed: 4, abandoned: 3, faulted: 1, faults: 2 }),
    ]);
    expect(points).toEqual([{ t: 1, offered: 20, ok: 6, errors: 9, queue: 0 }]);
  });
});

describe('recoverySeconds', () => {
  it('is the time from the window end to the first point healthy for good', () => {
    const points = [point(10, 20, 0, 20), point(12, 8, 2, 6), point(14, 7, 6, 0), point(16, 6, 6, 0), point(20, 6, 6, 0)];
    expect(recoverySeconds(points, 10, 20, HEALTHY)).toBe(4);
  });

  it('is null when the provider still fails at the end, or was healthy too briefly to tell', () => {
    expect(recoverySeconds([point(12, 6, 6, 0), point(20, 24, 0, 24)], 10, 20, HEALTHY)).toBeNull();
    expect(recoverySeconds([point(12, 24, 0, 24), point(18, 6, 6, 0)], 10, 20, HEALTHY)).toBeNull();
  });

  it('does not count a provider nobody calls (a breaker held open) as recovered', () => {
    const points = [point(12, 0, 0, 0), point(15, 0, 0, 0), point(20, 0, 0, 0), point(30, 0, 0, 0)];
    expect(recoverySeconds(points, 10, 30, HEALTHY)).toBeNull();
  });
});

describe('spansWhere', () => {
  it('gives each stretch the condition held, closing the last one at the last sample', () => {
    const samples = ['closed', 'open', 'half_open', 'closed', 'open'].map((state, i) => sample(i, { attempts: 0, served: 0 }, state));
    expect(spansWhere(samples, (s) => s.extra !== 'closed')).toEqual([
      [1, 3],
      [4, 4],
    ]);
  });
});
