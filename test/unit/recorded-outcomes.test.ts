// The in-process notice from the hosted worker's recording steps to the api
// request waiting on the same checkout (worker/recorded-outcomes.ts).
import { describe, expect, it } from 'vitest';
import type { CheckoutOutcome } from '../../domain/checkout';
import { RecordedOutcomes } from '../../worker/recorded-outcomes';

const completed: CheckoutOutcome = {
  outcome: 'completed',
  payment: { payment_id: 'pay_1', amount_cents: 100, currency: 'USD', created_at: '2026-12-01T00:00:00.000Z', provider_charge_id: 'ch_1' },
};

describe('recorded outcomes', () => {
  it('a waiter hears the outcome recorded for its workflow, and only that one', async () => {
    const outcomes = new RecordedOutcomes();
    const listening = new AbortController();
    let heard: CheckoutOutcome | undefined;
    const waiting = outcomes.wait('wf-a', listening.signal).then((o) => (heard = o));
    outcomes.recorded('wf-b', { ...completed, payment: { ...completed.payment, payment_id: 'pay_other' } });
    await Promise.resolve();
    expect(heard).toBeUndefined();
    outcomes.recorded('wf-a', completed);
    await waiting;
    expect(heard).toEqual(completed);
    expect(outcomes.size).toBe(0);
  });

  it('an outcome recorded before anyone waits is not kept, and an ended wait leaves nothing behind', () => {
    const outcomes = new RecordedOutcomes();
    outcomes.recorded('wf-a', completed);
    expect(outcomes.size).toBe(0);
    const listening = new AbortController();
    void outcomes.wait('wf-a', listening.signal);
    expect(outcomes.size).toBe(1);
    listening.abort();
    expect(outcomes.size).toBe(0);
  });

  it('a second wait for the same workflow takes over; ending the first does not remove it', async () => {
    const outcomes = new RecordedOutcomes();
    const first = new AbortController();
    const second = new AbortController();
    void outcomes.wait('wf-a', first.signal);
    const later = outcomes.wait('wf-a', second.signal);
    first.abort();
    expect(outcomes.size).toBe(1);
    outcomes.recorded('wf-a', completed);
    expect(await later).toEqual(completed);
  });
});
