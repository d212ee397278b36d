// The refund path's ledger postings, against the real parts: the shared
// Temporal dev server, Postgres, the payments stub over HTTP, and the stack's
// worker for reconciliation. A compensated checkout posts its charge and the
// charge's reversal in the transaction that marks the row refunded, so the
// ledger explains the money the provider took and gave back, balanced, and
// reconciliation sees a charge and a ledger that both net to zero.
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PaymentsProvider, type CheckoutActivities } from '../../activities';
import { fingerprintOf } from '../../api/checkout/schema';
import { postCompletedCharge, postRefundedCharge } from '../../db/ledger';
import { findPaymentById, insertPendingPayment } from '../../db/payments';
import { renderCheckoutAnswer } from '../../domain/checkout-answer';
import { DEFAULT_ACTIVITY_BUDGETS, type CheckoutInput, type CheckoutRequest } from '../../domain/checkout';
import { checkoutWorkflowId } from '../../domain/ids';
import type { ReconciliationInput } from '../../domain/reconciliation';
import { FailureType } from '../../errors';
import { checkoutActivitiesFor } from '../../worker/build';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { checkout, reconciliation } from '../../workflows';
import { testProtection } from '../support/protection';
import { startTestStack, stubCharges, testLogger, testWorkerConfig, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;
let connection: NativeConnection;
let provider: PaymentsProvider;

beforeAll(async () => {
  stack = await startTestStack();
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  provider = new PaymentsProvider({ baseUrl: stack.stub.url, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await provider?.close();
  await connection?.close();
  await stack?.stop();
});

async function newPayment(amountCents: number): Promise<{ workflowId: string; input: CheckoutInput }> {
  const key = uniqueKey('refund-postings');
  const request: CheckoutRequest = { customer_id: 'cust_refund_postings', amount_cents: amountCents, currency: 'EUR', payment_method_id: 'pm_card_visa' };
  const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
  const { row } = await insertPendingPayment(stack.pool, {
    merchantId: stack.merchant.merchantId,
    paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
    idempotencyKey: key,
    workflowId,
    fingerprint: fingerprintOf(request),
    request,
  });
  return {
    workflowId,
    input: { paymentId: row.payment_id, idempotencyKey: key, request, createdAt: row.created_at.toISOString(), budgets: DEFAULT_ACTIVITY_BUDGETS },
  };
}

interface Entry {
  step: string;
  account_code: string;
  direction: string;
  amount_cents: number;
  currency: string;
}

async function entriesOf(workflowId: string): Promise<Entry[]> {
  const res = await stack.pool.query<Entry>(
    `SELECT t.step, e.account_code, e.direction, e.amount_cents, trim(e.currency) AS currency
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      WHERE t.workflow_id = $1 ORDER BY t.step, e.direction`,
    [workflowId],
  );
  return res.rows;
}

/** Debits less credits per account over these entries. */
function balances(entries: Entry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) out[e.account_code] = (out[e.account_code] ?? 0) + (e.direction === 'debit' ? e.amount_cents : -e.amount_cents);
  return out;
}

const CHARGE_AND_REVERSAL = (amount: number): Entry[] => [
  { step: 'charge', account_code: 'merchant_payable', direction: 'credit', amount_cents: amount, currency: 'EUR' },
  { step: 'charge', account_code: 'provider_clearing', direction: 'debit', amount_cents: amount, currency: 'EUR' },
  { step: 'refund', account_code: 'provider_clearing', direction: 'credit', amount_cents: amount, currency: 'EUR' },
  { step: 'refund', account_code: 'merchant_payable', direction: 'debit', amount_cents: amount, currency: 'EUR' },
];

describe('the refund path posts the charge and its reversal', () => {
  it('a checkout compensated after a ledger refusal: row refunded, charge and reversal posted and balanced, no reconciliation finding', async () => {
    const real = checkoutActivitiesFor(testWorkerConfig({ PAYMENTS_URL: stack.stub.url }), {
      pool: stack.pool,
      provider,
      protection: testProtection(stack.pool),
      logger: testLogger,
    });
    // Stand-in for a ledger refusal (a constraint the database raises): the
    // real refusal cannot be provoked through the api's validated input.
    const activities: CheckoutActivities = {
      ...real,
      async recordCompletedPayment() {
        throw ApplicationFailure.nonRetryable('ledger refused the posting (test stand-in)', FailureType.LedgerRefused);
      },
    };
    const { workflowId, input } = await newPayment(6_150);
    const taskQueue = `refund-postings-${crypto.randomUUID()}`;
    const worker = await Worker.create({ connection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities, dataConverter: stack.dataConverter });
    const result = await worker.runUntil(stack.client.workflow.execute(checkout, { taskQueue, workflowId, args: [input] }));

    expect(result.outcome).toBe('refunded');
    const charge = (await stubCharges(stack.stub)).find((c) => c.idempotency_key === `${workflowId}:charge`);
    expect(charge?.refunded).toBe(true);
    expect(await findPaymentById(stack.pool, input.paymentId)).toMatchObject({ status: 'refunded', failure_code: 'payment_reversed', provider_charge_id: charge?.id });

    // keyed (workflow ID, 'charge') and (workflow ID, 'refund'); each balances; together they net to zero
    const entries = await entriesOf(workflowId);
    expect(entries).toEqual(expect.arrayContaining(CHARGE_AND_REVERSAL(6_150)));
    expect(entries).toHaveLength(4);
    expect(balances(entries)).toEqual({ provider_clearing: 0, merchant_payable: 0 });
    const unbalanced = await stack.pool.query(
      `SELECT t.step FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
        WHERE t.workflow_id = $1 GROUP BY t.id, t.step
       HAVING sum(CASE e.direction WHEN 'debit' THEN e.amount_cents ELSE -e.amount_cents END) <> 0`,
      [workflowId],
    );
    expect(unbalanced.rows).toEqual([]);

    // reconciliation: the provider's charge nets to zero (refunded), so does the ledger: no finding
    const recon: ReconciliationInput = { scheduleId: `refund-postings-${crypto.randomUUID()}`, intervalMs: 60_000, settleMs: 1_000, overlapMs: 10 * 60_000 };
    await sleep(recon.settleMs + 1_100);
    const summary = await stack.client.workflow.execute(reconciliation, { workflowId: `${recon.scheduleId}-tick`, taskQueue: stack.taskQueue, args: [recon] });
    expect(summary.postingsChecked).toBeGreaterThanOrEqual(1);
    const findings = await stack.pool.query('SELECT kind FROM reconciliation_mismatches WHERE provider_charge_id = $1 OR workflow_id = $2', [
      charge?.id,
      workflowId,
    ]);
    expect(findings.rows).toEqual([]);
  });

  it('recorded again (a re-executed activity) it posts nothing new; a completion that committed unreported is reversed and the row refunded', async () => {
    const { workflowId, input } = await newPayment(2_480);
    const payment = {
      payment_id: input.paymentId,
      amount_cents: 2_480,
      currency: 'EUR',
      provider_charge_id: `ch_test_${crypto.randomUUID().replace(/-/g, '')}`,
      created_at: input.createdAt,
    };
    // the completion committed, but its activity never reported it (a crash, or Postgres gone before the answer)
    await postCompletedCharge(stack.pool, { workflowId, payment, answer: renderCheckoutAnswer({ outcome: 'completed', payment }) });
    expect((await findPaymentById(stack.pool, input.paymentId))?.status).toBe('completed');

    const refundedAnswer = renderCheckoutAnswer({ outcome: 'refunded', payment, code: 'payment_reversed' });
    const first = await postRefundedCharge(stack.pool, { workflowId, payment, answer: refundedAnswer });
    expect(first).toMatchObject({ chargePosted: false, reversalPosted: true, row: { status: 'refunded', response_status: 500 } });
    const again = await postRefundedCharge(stack.pool, { workflowId, payment, answer: refundedAnswer });
    expect(again).toMatchObject({ chargePosted: false, reversalPosted: false, row: { status: 'refunded' } });

    const entries = await entriesOf(workflowId);
    expect(entries).toEqual(expect.arrayContaining(CHARGE_AND_REVERSAL(2_480)));
    expect(entries).toHaveLength(4);
    expect(balances(entries)).toEqual({ provider_clearing: 0, merchant_payable: 0 });
    const events = await stack.pool.query<{ type: string }>('SELECT type FROM webhook_events WHERE payment_id = $1 ORDER BY type', [input.paymentId]);
    expect(events.rows.map((r) => r.type)).toEqual(['payment.completed', 'payment.refunded']);
  });
});
