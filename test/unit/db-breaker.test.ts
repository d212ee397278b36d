// The database breaker's rules (domain/db-breaker.ts), as the shared workflow
// and each api apply them.
import { describe, expect, it } from 'vitest';
import { closedDbBreaker, dbRetryAfterMs, grantProbe, observeDb, probeOutcome, DB_BREAKER_DEFAULTS } from '../../domain/db-breaker';

const config = { ...DB_BREAKER_DEFAULTS, minVolume: 20, windowMs: 10_000, openMs: 30_000, probeHoldMs: 5_000 };

describe('the database breaker', () => {
  it('opens at half the calls failing in the window, once there are enough calls', () => {
    let b = observeDb(closedDbBreaker(), { calls: 10, failures: 10, slow: 0 }, 0, config);
    expect(b.state).toBe('closed'); // 10 calls: under the volume
    b = observeDb(b, { calls: 10, failures: 0, slow: 0 }, 1_000, config);
    expect(b.state).toBe('open');
    expect(b.openedAt).toBe(1_000);
  });

  it('opens when more than 1 % of calls are slow (p99 over slowMs), and forgets calls older than the window', () => {
    const healthy = observeDb(closedDbBreaker(), { calls: 100, failures: 0, slow: 1 }, 0, config);
    expect(healthy.state).toBe('closed');
    expect(observeDb(healthy, { calls: 100, failures: 0, slow: 1 }, 1_000, config).state).toBe('closed'); // 2 of 200: p99 on the line
    expect(observeDb(healthy, { calls: 10, failures: 0, slow: 2 }, 1_000, config).state).toBe('open'); // 3 of 110
    // 11 s later the first 100 calls are gone: 3 slow of 10 would open, 0 slow of 10 is under the volume
    expect(observeDb(healthy, { calls: 10, failures: 0, slow: 0 }, 11_000, config).window).toHaveLength(1);
  });

  it('grants one probe after openMs to the first who asks; the probe closes or reopens it', () => {
    const open = observeDb(closedDbBreaker(), { calls: 20, failures: 20, slow: 0 }, 0, config);
    expect(grantProbe(open, 'api-a', 29_999, config).granted).toBe(false);
    expect(dbRetryAfterMs(open, 29_000, config)).toBe(1_000);
    const half = grantProbe(open, 'api-a', 30_000, config);
    expect(half).toMatchObject({ granted: true, breaker: { state: 'half_open', probe: { holder: 'api-a' } } });
    expect(grantProbe(half.breaker, 'api-b', 31_000, config).granted).toBe(false); // one probe
    expect(grantProbe(half.breaker, 'api-b', 35_000, config).granted).toBe(true); // api-a never reported: lapsed
    expect(probeOutcome(half.breaker, 'api-b', true, 31_000).state).toBe('half_open'); // not the holder
    expect(probeOutcome(half.breaker, 'api-a', true, 31_000).state).toBe('closed');
    expect(probeOutcome(half.breaker, 'api-a', false, 31_000)).toMatchObject({ state: 'open', openedAt: 31_000 });
  });
});
