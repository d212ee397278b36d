// Reconciliation against real parts: the api and a worker on the shared
// Temporal dev server, the payments stub over HTTP, Postgres. Each mismatch is
// made the way it would happen: a charge at the provider nobody recorded, a
// posting for a charge the provider never made, a posting of another amount.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import client from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../api/checkout/schema';
import { renderCheckoutAnswer } from '../../domain/checkout-answer';
import { postCompletedCharge } from '../../db/ledger';
import { insertPendingPayment } from '../../db/payments';
import { checkoutWorkflowId } from '../../domain/ids';
import type { CheckoutRequest } from '../../domain/checkout';
import { reconciliation } from '../../workflows/reconciliation';
import type { ReconciliationInput, ReconciliationSummary } from '../../domain/reconciliation';
import { createReconciliationMetrics } from '../../worker/metrics';
import { bearer, createTestKey } from '../support/merchants';
import { authHeaders, checkoutBody, postCheckout, startTestStack, uniqueKey, type TestStack } from '../support/stack';

const registry = new client.Registry();
const metrics = createReconciliationMetrics(registry);
let stack: TestStack;

const scheduleId = `recon-test-${crypto.randomUUID()}`;
// a long overlap, so the second run checks everything the first one did
const input: ReconciliationInput = { scheduleId, intervalMs: 60_000, settleMs: 1_000, overlapMs: 10 * 60_000 };

interface MismatchRecord {
  run_id: string;
  kind: string;
  provider_charge_id: string;
  workflow_id: string | null;
  idempotency_key: string | null;
  provider_amount_cents: number | null;
  ledger_amount_cents: number | null;
  currency: string;
}

/** Reconciliation runs span every merchant: an operator route, admin keys only. */
let admin: Record<string, string>;

beforeAll(async () => {
  stack = await startTestStack({ onReconciliationMismatch: (kind) => metrics.mismatches.inc({ kind }) });
  admin = bearer((await createTestKey(stack.pool, null, 'admin')).apiKey);
});

afterAll(async () => {
  await stack?.stop();
});

async function stubPost<T>(path: string, key: string, body: unknown): Promise<T> {
  const res = await fetch(`${stack.stub.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** A charge made at the provider directly, as a lost or foreign call would. */
async function chargeAtProvider(key: string, amountCents: number): Promise<{ id: string; created: number }> {
  return stubPost('/charges', key, { amount_cents: amountCents, currency: 'USD', payment_method_id: 'pm_card_visa' });
}

/** A completed payment with its ledger posting, naming `chargeId`, written as the checkout's activity writes it. */
async function postPayment(amountCents: number, chargeId: string): Promise<string> {
  const key = uniqueKey('recon');
  const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
  const request: CheckoutRequest = { customer_id: 'cust_recon', amount_cents: amountCents, currency: 'USD', payment_method_id: 'pm_card_visa' };
  const { row } = await insertPendingPayment(stack.pool, {
    merchantId: stack.merchant.merchantId,
    paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
    idempotencyKey: key,
    workflowId,
    fingerprint: fingerprintOf(request),
    request,
  });
  const payment = {
    payment_id: row.payment_id,
    amount_cents: amountCents,
    currency: 'USD',
    provider_charge_id: chargeId,
    created_at: row.created_at.toISOString(),
  };
  await postCompletedCharge(stack.pool, { workflowId, payment, answer: renderCheckoutAnswer({ outcome: 'completed', payment }) });
  return workflowId;
}

async function runTick(workflowId: string): Promise<ReconciliationSummary> {
  return stack.client.workflow.execute(reconciliation, { workflowId, taskQueue: stack.taskQueue, args: [input] });
}

async function mismatchesFor(chargeIds: string[]): Promise<MismatchRecord[]> {
  const res = await stack.pool.query<MismatchRecord>(
    `SELECT run_id, kind, provider_charge_id, workflow_id, idempotency_key, provider_amount_cents, ledger_amount_cents, trim(currency) AS currency
       FROM reconciliation_mismatches WHERE provider_charge_id = ANY($1::text[]) ORDER BY id`,
    [chargeIds],
  );
  return res.rows;
}

async function metricValue(kind?: string): Promise<number> {
  const values = (await metrics.mismatches.get()).values;
  return values.filter((v) => kind === undefined || v.labels.kind === kind).reduce((sum, v) => sum + v.value, 0);
}

describe('reconciliation: provider charges and refunds against ledger postings', () => {
  it('reports each kind of mismatch once across two runs, and nothing for matched or compensated payments', async () => {
    // matched: two real checkouts through the api
    const paid = [];
    for (let i = 0; i < 2; i += 1) {
      const res = await postCheckout(stack.api, uniqueKey('recon-ok'), checkoutBody({ amount_cents: 1500 + i }));
      expect(res.status).toBe(201);
      paid.push(res.body.provider_charge_id as string);
    }
    // compensated: charged, then refunded, never posted
    const compensatedWf = checkoutWorkflowId(stack.merchant.merchantId, uniqueKey('recon-refunded'));
    const compensated = await chargeAtProvider(`${compensatedWf}:charge`, 2100);
    await stubPost('/refunds', `${compensatedWf}:refund`, { charge_id: compensated.id });
    // charge without posting: money taken at the provider, nothing in our books
    const injectedKey = `injected-${crypto.randomUUID()}`;
    const injected = await chargeAtProvider(injectedKey, 4242);
    // posting without charge: the books name a charge the provider never made
    const lostChargeId = `ch_lost_${crypto.randomUUID().replace(/-/g, '')}`;
    const lostWf = await postPayment(3100, lostChargeId);
    // amount differs: the provider charged 1000, the ledger posted 1200
    const differsWf = checkoutWorkflowId(stack.merchant.merchantId, uniqueKey('recon-differs'));
    const differs = await chargeAtProvider(`${differsWf}:charge`, 1000);
    const postedWf = await postPayment(1200, differs.id);
    // the posting names the charge, even though its workflow is another one
    expect(postedWf).not.toBe(differsWf);

    // past the settle time, so the first run's window holds all of it
    await sleep(input.settleMs + 1_100);
    const tick1 = await runTick(`${scheduleId}-tick-1`);
    const ours = [...paid, compensated.id, injected.id, lostChargeId, differs.id];
    const afterFirst = await mismatchesFor(ours);
    expect(afterFirst).toEqual(
      expect.arrayContaining([
        {
          run_id: tick1.runId,
          kind: 'charge_without_posting',
          provider_charge_id: injected.id,
          workflow_id: null,
          idempotency_key: injectedKey,
          provider_amount_cents: 4242,
          ledger_amount_cents: null,
          currency: 'USD',
        },
        {
          run_id: tick1.runId,
          kind: 'posting_without_charge',
          provider_charge_id: lostChargeId,
          workflow_id: lostWf,
          idempotency_key: `${lostWf}:charge`,
          provider_amount_cents: null,
          ledger_amount_cents: 3100,
          currency: 'USD',
        },
        {
          run_id: tick1.runId,
          kind: 'amount_differs',
          provider_charge_id: differs.id,
          workflow_id: postedWf,
          idempotency_key: `${differsWf}:charge`,
          provider_amount_cents: 1000,
          ledger_amount_cents: 1200,
          currency: 'USD',
        },
      ]),
    );
    expect(afterFirst).toHaveLength(3);
    expect(tick1.mismatchesFound).toBeGreaterThanOrEqual(3);

    // the second run's window overlaps the first one and sees the same charges again
    const tick2 = await runTick(`${scheduleId}-tick-2`);
    expect(new Date(tick2.since).getTime()).toBeLessThanOrEqual(injected.created * 1000);
    expect(new Date(tick2.until).getTime()).toBeGreaterThan(new Date(tick1.until).getTime());
    expect(tick2.chargesChecked).toBeGreaterThanOrEqual(ours.length - 1);
    const afterSecond = await mismatchesFor(ours);
    expect(afterSecond).toEqual(afterFirst);
    expect(afterSecond.filter((m) => m.run_id === tick2.runId)).toEqual([]);

    // the api lists both runs, newest first, the first with its findings
    const path = `/reconciliation/runs?schedule_id=${encodeURIComponent(scheduleId)}`;
    // a merchant's key does not reach it
    expect((await fetch(`${stack.api.url}${path}`, { headers: authHeaders(stack.api) })).status).toBe(403);
    const res = await fetch(`${stack.api.url}${path}`, { headers: admin });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Array<{ run_id: string; finished_at: string | null; mismatches_found: number; mismatches: MismatchRecord[] }> };
    expect(body.data.map((r) => r.run_id)).toEqual([tick2.runId, tick1.runId]);
    expect(body.data.every((r) => r.finished_at !== null)).toBe(true);
    expect(body.data[1]?.mismatches_found).toBe(tick1.mismatchesFound);
    expect(body.data[1]?.mismatches).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'charge_without_posting', provider_charge_id: injected.id, provider_amount_cents: 4242 })]),
    );
    expect(body.data[0]?.mismatches.filter((m) => ours.includes(m.provider_charge_id))).toEqual([]);

    // the metric counted each finding once: as many as the two runs recorded
    const recorded = await stack.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM reconciliation_mismatches WHERE run_id = ANY($1::text[])',
      [[tick1.runId, tick2.runId]],
    );
    expect(await metricValue()).toBe(recorded.rows[0]?.n);
    expect(await metricValue('charge_without_posting')).toBeGreaterThanOrEqual(1);
  });

  it('a tick run again (as a retried activity would) keeps its window and records nothing new', async () => {
    const injected = await chargeAtProvider(`injected-${crypto.randomUUID()}`, 777);
    await sleep(input.settleMs + 1_100);
    const workflowId = `${scheduleId}-tick-3`;
    const first = await runTick(workflowId);
    const metricBefore = await metricValue();
    const again = await runTick(workflowId);

    expect(again).toEqual(first);
    expect(await metricValue()).toBe(metricBefore);
    const rows = await mismatchesFor([injected.id]);
    expect(rows).toEqual([expect.objectContaining({ run_id: workflowId, kind: 'charge_without_posting', provider_amount_cents: 777 })]);
    const runs = await stack.pool.query('SELECT count(*)::int AS n FROM reconciliation_runs WHERE run_id = $1', [workflowId]);
    expect(runs.rows[0].n).toBe(1);
  });

  it('answers 400 for a bad limit on GET /reconciliation/runs', async () => {
    const res = await fetch(`${stack.api.url}/reconciliation/runs?limit=0`, { headers: admin });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('limit');
  });
});
