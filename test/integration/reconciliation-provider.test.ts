// The provider listings reconciliation reads (the stub's GET /charges,
// GET /charges/{id}, GET /refunds) through its HTTP client, and the comparison
// rules on their own.
import crypto from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareChargesWithPostings, type ProviderChargeRecord } from '../../domain/reconciliation-compare';
import { ProviderCallError } from '../../errors';
import { ProviderListings } from '../../activities/reconciliation/provider-listings';
import { startStub, type RunningStub } from '../../payments-stub/server';

let stub: RunningStub;
let listings: ProviderListings;

beforeAll(async () => {
  stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok' });
  listings = new ProviderListings({ baseUrl: stub.url, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await listings?.close();
  await stub?.close();
});

async function stubPost(path: string, key: string, body: unknown): Promise<{ id: string; created: number }> {
  const res = await fetch(`${stub.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; created: number };
}

describe('provider listings', () => {
  it('lists charges and refunds since a time, and finds one charge by id', async () => {
    const key = `listing-${crypto.randomUUID()}`;
    const charge = await stubPost('/charges', key, { amount_cents: 2500, currency: 'EUR', payment_method_id: 'pm_card_visa' });
    const refund = await stubPost('/refunds', `${key}:refund`, { charge_id: charge.id });

    const charges = await listings.charges(charge.created, 2_000);
    expect(charges).toContainEqual({ id: charge.id, idempotency_key: key, amount_cents: 2500, currency: 'EUR', created: charge.created, refunded: true });
    expect(await listings.charges(charge.created + 3_600, 2_000)).toEqual([]);
    const refunds = await listings.refunds(charge.created, 2_000);
    expect(refunds).toContainEqual({ id: refund.id, charge_id: charge.id, amount_cents: 2500, currency: 'EUR', created: refund.created });
    expect(await listings.charge(charge.id, 2_000)).toMatchObject({ id: charge.id, refunded: true });
    expect(await listings.charge('ch_nobody_made', 2_000)).toBeUndefined();
  });

  it('gives up on a provider that does not answer within the timeout, as a retryable error', async () => {
    // a real socket that accepts and never answers
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const mute = new ProviderListings({ baseUrl: `http://127.0.0.1:${port}`, connectTimeoutMs: 500 });
    try {
      const err = await mute.charges(0, 300).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderCallError);
      expect((err as ProviderCallError).retryable).toBe(true);
      expect((err as ProviderCallError).message).toMatch(/within 300 ms/);
    } finally {
      await mute.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe('comparing charges with postings', () => {
  const charge = (over: Partial<ProviderChargeRecord>): ProviderChargeRecord => ({
    id: 'ch_1',
    idempotency_key: 'checkout-k1:charge',
    amount_cents: 1000,
    currency: 'USD',
    created: 1,
    refunded: false,
    ...over,
  });

  it('matches a charge to its posting by charge id or by the checkout workflow in its key', () => {
    expect(compareChargesWithPostings([charge({})], [{ workflow_id: 'checkout-k1', provider_charge_id: 'ch_1', amount_cents: 1000, currency: 'USD' }])).toEqual([]);
    expect(compareChargesWithPostings([charge({})], [{ workflow_id: 'checkout-k1', provider_charge_id: null, amount_cents: 1000, currency: 'USD' }])).toEqual([]);
  });

  it('treats a refunded charge with no posting as a compensated checkout, and with a posting as a posting the provider no longer backs', () => {
    expect(compareChargesWithPostings([charge({ refunded: true })], [])).toEqual([]);
    expect(
      compareChargesWithPostings([charge({ refunded: true })], [{ workflow_id: 'checkout-k1', provider_charge_id: 'ch_1', amount_cents: 1000, currency: 'USD' }]),
    ).toEqual([expect.objectContaining({ kind: 'posting_without_charge', provider_amount_cents: 0, ledger_amount_cents: 1000 })]);
  });

  it('reports a currency that differs as amount_differs', () => {
    expect(
      compareChargesWithPostings([charge({ currency: 'EUR' })], [{ workflow_id: 'checkout-k1', provider_charge_id: 'ch_1', amount_cents: 1000, currency: 'USD' }]),
    ).toEqual([expect.objectContaining({ kind: 'amount_differs', workflow_id: 'checkout-k1' })]);
  });
});
