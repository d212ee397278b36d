// The orphan sweeper never deletes a pending row whose workflow may have
// charged, whatever Temporal says about that workflow. Against the real parts:
// a checkout through the api whose charge reached the provider (the answer was
// lost on the way back), whose workflow then ended without recording it and
// was deleted from Temporal (as its retention ending would), so Temporal
// answers "not found" exactly as for a workflow that never started.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sweepOrphanPayments } from '../../api/orphan-sweeper';
import { fingerprintOf } from '../../api/checkout/schema';
import { findPaymentByKey, insertPendingPayment } from '../../db/payments';
import { checkoutWorkflowId } from '../../domain/ids';
import type { CheckoutRequest } from '../../domain/checkout';
import { checkoutBody, postCheckout, startTestStack, stubCharges, testLogger, uniqueKey, type TestStack } from '../support/stack';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack();
});

afterEach(async () => {
  await setFaults({ mode: 'ok', fail_rate: null, latency_ms: 0 });
});

afterAll(async () => {
  await stack?.stop();
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stack.stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(res.status).toBe(200);
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Ends the workflow and removes it from Temporal, as the end of its retention would. */
async function forgetWorkflow(workflowId: string): Promise<void> {
  const handle = stack.client.workflow.getHandle(workflowId);
  await handle.terminate('test: the workflow ended without recording its charge');
  await stack.client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId } });
  await until(
    async () => {
      try {
        await handle.describe();
        return undefined;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return true;
        throw err;
      }
    },
    60_000,
    `workflow ${workflowId} deleted`,
  );
}

describe('the orphan sweeper and charged payments', () => {
  it('keeps a stale pending row whose charge reached the provider, though Temporal no longer knows its workflow; still sweeps a true orphan', async () => {
    // every charge is applied at the provider, and its answer lost on the way back
    await setFaults({ mode: 'lost_response', fail_rate: null });
    const key = uniqueKey('charged-orphan');
    const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
    const res = await postCheckout(stack.api, key, checkoutBody({ amount_cents: 2_750 }));
    expect(res.status).toBe(202);
    const charge = await until(
      async () => (await stubCharges(stack.stub)).find((c) => c.idempotency_key === `${workflowId}:charge`),
      10_000,
      'the charge at the provider',
    );
    await forgetWorkflow(workflowId);

    // a true orphan beside it: reserved by the api, never started, never charged
    const orphanKey = uniqueKey('true-orphan');
    const request: CheckoutRequest = { customer_id: 'cust_test', amount_cents: 1_999, currency: 'USD', payment_method_id: 'pm_card_visa' };
    const orphan = await insertPendingPayment(stack.pool, {
      merchantId: stack.merchant.merchantId,
      paymentId: `pay_${orphanKey.replace(/-/g, '')}`,
      idempotencyKey: orphanKey,
      workflowId: checkoutWorkflowId(stack.merchant.merchantId, orphanKey),
      fingerprint: fingerprintOf(request),
      request,
    });

    await sleep(500);
    const sweep = await sweepOrphanPayments({ client: stack.client, pool: stack.pool, logger: testLogger, staleAfterMs: 300, batchSize: 10_000 });

    const row = await findPaymentByKey(stack.pool, stack.merchant.merchantId, key);
    expect(row, 'the charged row must survive the sweep').toBeDefined();
    expect(row).toMatchObject({ status: 'pending', payment_id: res.body.payment_id });
    expect(row?.charge_attempted_at).toBeInstanceOf(Date);
    expect(sweep.deleted).not.toContain(res.body.payment_id);
    // the money is still there for a person (or reconciliation) to find against this row
    expect(charge.refunded).toBe(false);
    // the sweeper still does its job for rows no charge was ever attempted for
    expect(sweep.deleted).toContain(orphan.row.payment_id);
    expect(await findPaymentByKey(stack.pool, stack.merchant.merchantId, orphanKey)).toBeUndefined();
  }, 120_000);
});
