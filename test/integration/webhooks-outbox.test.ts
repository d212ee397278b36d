// The outbox against real Postgres: an event is written once per payment and
// type, belongs to its payment's merchant and goes only to that merchant's
// endpoints, and an event claimed by a dispatcher that died is taken by
// another once the lease has passed (the crash between commit and workflow start).
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { insertMerchant } from '../../db/merchants';
import { migrate } from '../../db/migrate';
import { insertPendingPayment } from '../../db/payments';
import { createPool, type Pool } from '../../db/pool';
import { createDeliveriesForEvent } from '../../db/webhooks-deliveries';
import { deleteEndpoint, insertEndpoint, newEndpointId, newWebhookSecret } from '../../db/webhooks-endpoints';
import { claimUndispatchedEvents, insertPaymentEvent, markEventDispatched } from '../../db/webhooks-events';

let pool: Pool;
let merchantId: string;
const endpoints: Array<[merchantId: string, endpointId: string]> = [];

beforeAll(async () => {
  pool = createPool(inject('databaseUrl'), 3);
  await migrate(pool);
  merchantId = (await insertMerchant(pool, 'outbox test')).id;
});

afterAll(async () => {
  // test files share the database: leave no endpoint that later events would fan out to
  for (const [merchant, id] of endpoints) await deleteEndpoint(pool, merchant, id);
  await pool?.end();
});

/** A pending payment of the merchant: an event needs its payment, whose merchant it takes. */
async function paymentId(merchant = merchantId): Promise<string> {
  const id = `pay_outbox_${crypto.randomUUID().replace(/-/g, '')}`;
  await insertPendingPayment(pool, {
    merchantId: merchant,
    paymentId: id,
    idempotencyKey: id,
    workflowId: `checkout-test-${id}`,
    fingerprint: 'outbox-test',
    request: { customer_id: 'cust_outbox', amount_cents: 500, currency: 'EUR', payment_method_id: 'pm_card_visa' },
  });
  return id;
}

/** An endpoint no receiver listens on (loopback, port 9): these tests start no delivery. */
async function endpointOf(merchant: string, events: Array<'payment.completed' | 'payment.failed' | 'payment.refunded'>): Promise<string> {
  const id = newEndpointId();
  await insertEndpoint(pool, { id, merchantId: merchant, url: 'http://127.0.0.1:9/never-called', events, secret: newWebhookSecret() });
  endpoints.push([merchant, id]);
  return id;
}

describe('webhook outbox', () => {
  it('one event per payment and type: a re-executed activity gets the same event back', async () => {
    const id = await paymentId();
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
    const eventId = await insertPaymentEvent(pool, 'payment.failed', { payment_id: await paymentId() });
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

  it("an event carries its payment's merchant; an event for no payment is refused", async () => {
    const id = await paymentId();
    const eventId = await insertPaymentEvent(pool, 'payment.completed', { payment_id: id });
    const row = await pool.query<{ merchant_id: string }>('SELECT merchant_id FROM webhook_events WHERE id = $1', [eventId]);
    expect(row.rows[0]?.merchant_id).toBe(merchantId);
    const orphan = `pay_outbox_missing_${crypto.randomUUID()}`;
    await expect(insertPaymentEvent(pool, 'payment.completed', { payment_id: orphan })).rejects.toThrow(/no such payment/);
    expect((await pool.query('SELECT 1 FROM webhook_events WHERE payment_id = $1', [orphan])).rowCount).toBe(0);
  });

  it("deliveries go only to active endpoints of the event's own merchant subscribed to its type", async () => {
    const other = (await insertMerchant(pool, 'outbox test, another merchant')).id;
    const mine = await endpointOf(merchantId, ['payment.completed']);
    const mineOtherType = await endpointOf(merchantId, ['payment.refunded']);
    const mineDisabled = await endpointOf(merchantId, ['payment.completed']);
    await pool.query("UPDATE webhook_endpoints SET status = 'disabled' WHERE id = $1", [mineDisabled]);
    const theirs = await endpointOf(other, ['payment.completed', 'payment.failed', 'payment.refunded']);

    const eventId = await insertPaymentEvent(pool, 'payment.completed', { payment_id: await paymentId() });
    const deliveries = await createDeliveriesForEvent(pool, eventId);
    const toTheseEndpoints = deliveries.filter((d) => [mine, mineOtherType, mineDisabled, theirs].includes(d.endpoint_id));
    expect(toTheseEndpoints.map((d) => [d.endpoint_id, d.merchant_id])).toEqual([[mine, merchantId]]);
    // every delivery of the event is the merchant's, whatever other endpoints the database holds
    expect(new Set(deliveries.map((d) => d.merchant_id))).toEqual(new Set([merchantId]));

    const theirEvent = await insertPaymentEvent(pool, 'payment.completed', { payment_id: await paymentId(other) });
    expect((await createDeliveriesForEvent(pool, theirEvent)).map((d) => d.endpoint_id)).toEqual([theirs]);
  });
});
