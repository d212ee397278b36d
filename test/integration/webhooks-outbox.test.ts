// The outbox against real Postgres: an event is written once per payment and
// type, and an event claimed by a dispatcher that died is taken by another
// once the lease has passed (the crash between commit and workflow start).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { claimUndispatchedEvents, insertPaymentEvent, markEventDispatched } from '../../db/webhooks-events';

let pool: Pool;

beforeAll(async () => {
  pool = createPool(inject('databaseUrl'), 3);
  await migrate(pool);
});

afterAll(async () => {
  await pool?.end();
});

const paymentId = () => `pay_outbox_${crypto.randomUUID().replace(/-/g, '')}`;

describe('webhook outbox', () => {
  it('one event per payment and type: a re-executed activity gets the same event back', async () => {
    const id = paymentId();
    const first = await insertPaymentEvent(pool, 'payment.completed', { payment_id: id, amount_cents: 500 });
    const again = await insertPaymentEvent(pool, 'payment.completed', { payment_id: id, amount_cents: 500 });
    const refunded = await insertPaymentEvent(pool, 'payment.refunded', { payment_id: id });
    expect(again).toBe(first);
    expect(refunded).not.toBe(first);
    const rows = await pool.query<{ type: string; body: string }>('SELECT type, body FROM webhook_events WHERE payment_id = $1 ORDER BY type', [id]);
    expect(rows.rows.map((r) => r.type)).toEqual(['payment.completed', 'payment.refunded']);
    expect(JSON.parse(rows.rows[0]?.body ?? '{}')).toMatchObject({ type: 'payment.completed', data: { payment_id: id, amount_cents: 500 } });
  });

  it('an event claimed by a dispatcher that died is free again after the lease, and gone once dispatched', async () => {
    const eventId = await insertPaymentEvent(pool, 'payment.failed', { payment_id: paymentId() });
    const mine = (claimed: Array<{ id: string }>) => claimed.filter((e) => e.id === eventId);
    // dispatcher A claims it for 1 s and dies
    expect(mine(await claimUndispatchedEvents(pool, 100_000, 1_000))).toHaveLength(1);
    // dispatcher B does not see it while the lease holds
    expect(mine(await claimUndispatchedEvents(pool, 100_000, 30_000))).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(mine(await claimUndispatchedEvents(pool, 100_000, 30_000))).toEqual([{ id: eventId, type: 'payment.failed' }]);
    await markEventDispatched(pool, eventId);
    await pool.query('UPDATE webhook_events SET dispatch_claimed_until = NULL WHERE id = $1', [eventId]);
    expect(mine(await claimUndispatchedEvents(pool, 100_000, 30_000))).toHaveLength(0);
  });
});
