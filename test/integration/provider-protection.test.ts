// The fleet's breaker and retry budget against the real Postgres: what a call
// refused by the open breaker becomes when it comes back.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../db/pool';
import type { Admission } from '../../db/provider-protection';
import { testProtection } from '../support/protection';

let pool: Pool;

beforeAll(() => {
  pool = createPool(inject('databaseUrl'), 2);
});

afterAll(async () => {
  await pool?.end();
});

const admitted = (a: Admission) => (a.admitted ? { kind: a.kind, probe: a.probe } : { refused: a.reason });

describe('provider protection', () => {
  it('admits a call the open breaker refused as a retry once it closes: the backlog drains under the budget, new calls go first', async () => {
    // no retries allowed at all, so any retry is visible as deferred
    const protection = testProtection(pool, { breaker: { minVolume: 4, openMs: 300 }, retryBudget: { minPerWindow: 0, ratio: 0 } });
    for (let i = 0; i < 4; i++) {
      const a = await protection.admit(`failing-${i}`);
      if (!a.admitted) throw new Error('a call before the breaker opened was refused');
      await protection.record(a, 'failure');
    }
    const backlog = await protection.admit('backlog-1');
    expect(admitted(backlog)).toEqual({ refused: 'breaker_open' });
    expect(backlog.admitted ? 0 : backlog.retryAfterMs).toBeGreaterThan(0);

    await new Promise((r) => setTimeout(r, 350));
    const probe = await protection.admit('probe-1');
    expect(admitted(probe)).toEqual({ kind: 'first', probe: true });
    if (probe.admitted) await protection.record(probe, 'success');
    expect(await protection.state()).toBe('closed');

    // the refused call never reached the provider, yet it is backlog: a retry, over this budget
    expect(admitted(await protection.admit('backlog-1'))).toEqual({ refused: 'retry_budget' });
    expect(admitted(await protection.admit('new-1'))).toEqual({ kind: 'first', probe: false });
  });

  it('lets the backlog in as the budget allows', async () => {
    const protection = testProtection(pool, { breaker: { minVolume: 2, openMs: 200 }, retryBudget: { minPerWindow: 1, ratio: 0 } });
    for (let i = 0; i < 2; i++) {
      const a = await protection.admit(`failing-${i}`);
      if (a.admitted) await protection.record(a, 'failure');
    }
    for (const key of ['backlog-1', 'backlog-2']) expect(admitted(await protection.admit(key))).toEqual({ refused: 'breaker_open' });
    await new Promise((r) => setTimeout(r, 250));
    const probe = await protection.admit('probe-1');
    if (probe.admitted) await protection.record(probe, 'success');

    // one retry a window: the first of the backlog goes, the second waits
    expect(admitted(await protection.admit('backlog-1'))).toEqual({ kind: 'retry', probe: false });
    expect(admitted(await protection.admit('backlog-2'))).toEqual({ refused: 'retry_budget' });
  });

  it('allows as many retries as calls succeeded, plus the floor, while none failed (slow start); one failure brings it back to its ratio', async () => {
    // a 1 s window: the whole allowance may go in one second
    const protection = testProtection(pool, { retryBudget: { minPerWindow: 1, ratio: 0, windowMs: 1_000 } });
    for (let i = 0; i < 3; i++) {
      const a = await protection.admit(`ok-${i}`);
      if (a.admitted) await protection.record(a, 'success');
    }
    expect(await protection.retryBudgetUse()).toMatchObject({ retries: 0, allowed: 4 });
    // ok-0 and ok-1 again: retries, within the four
    for (const key of ['ok-0', 'ok-1']) expect(admitted(await protection.admit(key))).toEqual({ kind: 'retry', probe: false });
    const failing = await protection.admit('failing-1');
    if (failing.admitted) await protection.record(failing, 'failure');
    // back to the floor, and two retries already went
    expect(await protection.retryBudgetUse()).toMatchObject({ retries: 2, allowed: 1 });
    expect(admitted(await protection.admit('ok-2'))).toEqual({ refused: 'retry_budget' });
  });

  it('lets a backlog of retries alone grow past the floor while they succeed (after an outage, with no new traffic)', async () => {
    // the floor alone would let 2 retries a window; nothing else comes
    const protection = testProtection(pool, { breaker: { minVolume: 1_000 }, retryBudget: { minPerWindow: 2, ratio: 0, windowMs: 1_000 } });
    const keys = Array.from({ length: 10 }, (_, i) => `backlog-${i}`);
    for (const key of keys) {
      const first = await protection.admit(key);
      if (first.admitted) await protection.record(first, 'failure');
    }
    // the outage's failures leave the window: the provider is well, the backlog comes back as retries
    await new Promise((r) => setTimeout(r, 1_050));
    const outcomes = [];
    for (const key of keys) {
      const retry = await protection.admit(key);
      outcomes.push(admitted(retry));
      if (retry.admitted) await protection.record(retry, 'success');
    }
    expect(outcomes).toEqual(keys.map(() => ({ kind: 'retry', probe: false })));
  });

  it('spreads a large allowance over the window\'s seconds: no more than a tenth of a 10 s allowance in one second', async () => {
    // 20 first calls, all failing (no slow start): 20 retries a window at ratio 1, 2 a second
    const protection = testProtection(pool, { breaker: { minVolume: 1_000 }, retryBudget: { minPerWindow: 0, ratio: 1, windowMs: 10_000 } });
    for (let i = 0; i < 20; i++) {
      const first = await protection.admit(`k-${i}`);
      if (first.admitted) await protection.record(first, 'failure');
    }
    expect(admitted(await protection.admit('k-0'))).toEqual({ kind: 'retry', probe: false });
    expect(admitted(await protection.admit('k-1'))).toEqual({ kind: 'retry', probe: false });
    expect(admitted(await protection.admit('k-2'))).toEqual({ refused: 'retry_budget' });
    await new Promise((r) => setTimeout(r, 1_050));
    expect(admitted(await protection.admit('k-2'))).toEqual({ kind: 'retry', probe: false });
  });
});
