// The recording steps against an unreachable database, on Temporal's
// time-skipping test server: retry delays pass in test time, so an outage of
// many minutes takes seconds. The activities are the real ones; the ledger
// step's database is a real Postgres address where nothing listens
// (connection refused), until the test says it is back.
//
// An unreachable database is not a refusal: the ledger step waits (jittered,
// no attempt cap) for as long as the payment may stay pending, the payment
// stays pending meanwhile, and the checkout completes when the database comes
// back. Before this, the step gave up after 50 attempts (about 7.5 minutes of
// backoff) and the checkout refunded a charge it had only failed to record.
import crypto from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createTestMerchant } from '../support/merchants';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PaymentsProvider, type CheckoutActivities } from '../../activities';
import { checkoutActivitiesFor } from '../../worker/build';
import { findPaymentById, insertPendingPayment } from '../../db/payments';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { checkoutWorkflowId } from '../../domain/ids';
import { DEFAULT_ACTIVITY_BUDGETS, type ActivityBudgets, type CheckoutInput, type CheckoutRequest } from '../../domain/checkout';
import { checkout } from '../../workflows';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { fingerprintOf } from '../../api/checkout/schema';
import { freePort } from '../../stack/free-port';
import { registerSearchAttributes } from '../support/search-attributes';
import { quietTemporalRuntime, stubCharges, testLogger, testWorkerConfig } from '../support/stack';
import { testProtection } from '../support/protection';

const MINUTE = 60_000;
// The old policy's give-up: 50 attempts, Temporal's backoff 200 ms x 2 up to
// 10 s between them: 0.2 + 0.4 + ... + 6.4 + 43 x 10 s, about 7.4 minutes.
const OLD_ATTEMPTS = 50;
const OLD_WINDOW_MS = 442_600;

let env: TestWorkflowEnvironment;
let pool: Pool;
/** the merchant the payments these tests write belong to */
let merchantId: string;
/** A pool for a Postgres that is not there: every connection is refused. */
let unreachable: Pool;
let stub: RunningStub;
let provider: PaymentsProvider;

beforeAll(async () => {
  // errors only: every refused connection is an activity failure the SDK would log as a warning
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    quietTemporalRuntime();
  }
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  pool = createPool(inject('databaseUrl'), 5);
  await migrate(pool);
  merchantId = (await createTestMerchant(pool)).merchantId;
  const nobody = new URL(inject('databaseUrl'));
  nobody.port = String(await freePort());
  unreachable = createPool(nobody.toString(), 2);
  stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
  provider = new PaymentsProvider({ baseUrl: stub.url, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await provider?.close();
  await stub?.close();
  await unreachable?.end();
  await pool?.end();
  await env?.teardown();
});

interface LedgerAttempt {
  attempt: number;
  /** Test time since the step's first attempt was scheduled. */
  sinceFirstMs: number;
  /** The payment row's status as the api would read it while the step waits. */
  rowStatus: string | undefined;
}

/**
 * The real activities, the ledger step's database unreachable until `downForMs`
 * of test time after its first attempt (for ever when undefined).
 */
function activitiesWithLedgerDown(downForMs: number | undefined, attempts: LedgerAttempt[]): CheckoutActivities {
  const config = testWorkerConfig({ PAYMENTS_URL: stub.url });
  const protection = testProtection(pool);
  const real = checkoutActivitiesFor(config, { pool, provider, protection, logger: testLogger });
  const down = checkoutActivitiesFor(config, { pool: unreachable, provider, protection, logger: testLogger });
  return {
    ...real,
    async recordCompletedPayment(input) {
      const info = Context.current().info;
      const sinceFirstMs = info.currentAttemptScheduledTimestampMs - info.scheduledTimestampMs;
      const rowStatus = (await findPaymentById(pool, input.payment.payment_id))?.status;
      attempts.push({ attempt: info.attempt, sinceFirstMs, rowStatus });
      const isDown = downForMs === undefined || sinceFirstMs < downForMs;
      return (isDown ? down : real).recordCompletedPayment(input);
    },
  };
}

/** Inserts the payment row the api would have written, and returns the workflow input. */
async function newCheckout(budgets: ActivityBudgets): Promise<{ workflowId: string; input: CheckoutInput }> {
  const key = `ts-outage-${crypto.randomUUID()}`;
  const request: CheckoutRequest = { customer_id: 'cust_ts_outage', amount_cents: 3150, currency: 'USD', payment_method_id: 'pm_card_visa' };
  const workflowId = checkoutWorkflowId(merchantId, key);
  const { row } = await insertPendingPayment(pool, {
    merchantId,
    paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
    idempotencyKey: key,
    workflowId,
    fingerprint: fingerprintOf(request),
    request,
  });
  return { workflowId, input: { paymentId: row.payment_id, idempotencyKey: key, request, createdAt: row.created_at.toISOString(), budgets } };
}

async function runWorkflow(activities: CheckoutActivities, workflowId: string, input: CheckoutInput) {
  const taskQueue = `ts-outage-${crypto.randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities });
  return worker.runUntil(env.client.workflow.execute(checkout, { taskQueue, workflowId, args: [input] }));
}

/** The activity types the workflow scheduled, in order, from its history. */
async function scheduledActivities(workflowId: string): Promise<string[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

async function stubChargeFor(workflowId: string): Promise<Array<{ id: string; refunded: boolean }>> {
  return (await stubCharges(stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`);
}

async function postingsOf(workflowId: string): Promise<Array<{ step: string; debits: number; credits: number }>> {
  const res = await pool.query<{ step: string; debits: number; credits: number }>(
    `SELECT t.step,
            sum(CASE e.direction WHEN 'debit' THEN e.amount_cents ELSE 0 END)::bigint AS debits,
            sum(CASE e.direction WHEN 'credit' THEN e.amount_cents ELSE 0 END)::bigint AS credits
       FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      WHERE t.workflow_id = $1 GROUP BY t.step ORDER BY t.step`,
    [workflowId],
  );
  return res.rows;
}

describe('the ledger step against an unreachable database (time-skipping)', () => {
  it('waits past the old 50-attempt give-up, neither refunding nor failing, and completes when the database is back', async () => {
    const outageMs = 12 * MINUTE; // longer than the old policy's ~7.4 minutes
    const attempts: LedgerAttempt[] = [];
    const { workflowId, input } = await newCheckout({ ...DEFAULT_ACTIVITY_BUDGETS, paymentPendingMaxMs: 24 * 60 * MINUTE });
    const result = await runWorkflow(activitiesWithLedgerDown(outageMs, attempts), workflowId, input);

    expect(result.outcome).toBe('completed');
    // the step kept trying through the whole outage, well past the old attempt cap
    const whileDown = attempts.filter((a) => a.sinceFirstMs < outageMs);
    expect(whileDown.length).toBeGreaterThan(OLD_ATTEMPTS);
    expect(Math.max(...whileDown.map((a) => a.sinceFirstMs))).toBeGreaterThan(OLD_WINDOW_MS);
    expect(attempts.at(-1)?.sinceFirstMs).toBeGreaterThanOrEqual(outageMs);
    // the payment stayed pending all along (the api answers 202), and nothing else was scheduled
    expect(new Set(whileDown.map((a) => a.rowStatus))).toEqual(new Set(['pending']));
    // the charge went through first time inside the workflow task (a local activity); only the
    // waiting ledger step became a regular activity, after its own local first attempt
    expect(await scheduledActivities(workflowId)).toEqual(['recordCompletedPayment']);
    // one charge, never refunded; the row completed with one posting
    const charges = await stubChargeFor(workflowId);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.refunded).toBe(false);
    expect(await findPaymentById(pool, input.paymentId)).toMatchObject({ status: 'completed', response_status: 201, provider_charge_id: charges[0]?.id });
    expect(await postingsOf(workflowId)).toEqual([{ step: 'charge', debits: 3150, credits: 3150 }]);
  }, 240_000);

  it('waits for the whole pending window, not 50 attempts; only then does it refund, posting the charge and its reversal', async () => {
    const windowMs = 15 * MINUTE;
    const attempts: LedgerAttempt[] = [];
    const { workflowId, input } = await newCheckout({ ...DEFAULT_ACTIVITY_BUDGETS, paymentPendingMaxMs: windowMs });
    const result = await runWorkflow(activitiesWithLedgerDown(undefined, attempts), workflowId, input);

    expect(result.outcome).toBe('refunded');
    expect(attempts.length).toBeGreaterThan(OLD_ATTEMPTS);
    // Temporal ends the step when the next wait would pass the window: at most one wait (10 s)
    // early, plus the attempts' own time and the test server's scheduling (seen: 10.8 s in all)
    expect(Math.max(...attempts.map((a) => a.sinceFirstMs))).toBeGreaterThanOrEqual(windowMs - 15_000);
    expect(new Set(attempts.map((a) => a.rowStatus))).toEqual(new Set(['pending']));
    expect(await scheduledActivities(workflowId)).toEqual(['recordCompletedPayment', 'refundCharge', 'recordRefundedPayment']);
    const charges = await stubChargeFor(workflowId);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.refunded).toBe(true);
    expect(await findPaymentById(pool, input.paymentId)).toMatchObject({ status: 'refunded', failure_code: 'payment_reversed', response_status: 500 });
    expect(await postingsOf(workflowId)).toEqual([
      { step: 'charge', debits: 3150, credits: 3150 },
      { step: 'refund', debits: 3150, credits: 3150 },
    ]);
  }, 240_000);

  it('an input from an older api (no pending window) keeps the policy it was started under: 50 attempts, then the refund', async () => {
    const attempts: LedgerAttempt[] = [];
    const { workflowId, input } = await newCheckout(DEFAULT_ACTIVITY_BUDGETS);
    const result = await runWorkflow(activitiesWithLedgerDown(undefined, attempts), workflowId, input);

    expect(result.outcome).toBe('refunded');
    // the local first attempt inside the workflow task, then the regular activity's 50
    expect(attempts.map((a) => a.attempt)).toEqual([1, ...Array.from({ length: OLD_ATTEMPTS }, (_, i) => i + 1)]);
    expect((await stubChargeFor(workflowId))[0]?.refunded).toBe(true);
  }, 240_000);
});
