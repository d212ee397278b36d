// The checkout workflow on Temporal's time-skipping test server (the Java one,
// from Maven Central): retry delays and timers pass in test time, not wall
// time. Activities are the real ones against the real stub and Postgres.
import crypto from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/activity';
import { Worker } from '@temporalio/worker';
import { createTestMerchant } from '../support/merchants';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { PaymentsProvider, type CheckoutActivities } from '../../activities';
import { checkoutActivitiesFor } from '../../worker/build';
import { findPaymentById, insertPendingPayment } from '../../db/payments';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { checkoutWorkflowId } from '../../domain/ids';
import { DEFAULT_ACTIVITY_BUDGETS, type CheckoutInput, type CheckoutRequest } from '../../domain/checkout';
import { checkout } from '../../workflows';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { renderCheckoutAnswer } from '../../domain/checkout-answer';
import { fingerprintOf } from '../../api/checkout/schema';
import { FailureType } from '../../errors';
import { registerSearchAttributes } from '../support/search-attributes';
import { quietTemporalRuntime, stubCharges, testLogger, testWorkerConfig } from '../support/stack';
import { testProtection } from '../support/protection';

let env: TestWorkflowEnvironment;
let pool: Pool;
/** the merchant the payments these tests write belong to */
let merchantId: string;
let stub: RunningStub;
let provider: PaymentsProvider;

beforeAll(async () => {
  quietTemporalRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
  pool = createPool(inject('databaseUrl'), 5);
  await migrate(pool);
  merchantId = (await createTestMerchant(pool)).merchantId;
  stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
  provider = new PaymentsProvider({ baseUrl: stub.url, connectTimeoutMs: 500 });
});

afterAll(async () => {
  await provider?.close();
  await stub?.close();
  await pool?.end();
  await env?.teardown();
});

beforeEach(async () => {
  await setFaults({ mode: 'ok', fail_rate: null, latency_ms: 0 });
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  expect(res.status).toBe(200);
}

async function stubStats(): Promise<{ attempts: number; charges_applied: number }> {
  return (await (await fetch(`${stub.url}/stats`)).json()) as { attempts: number; charges_applied: number };
}

function realActivities(protection = testProtection(pool)): CheckoutActivities {
  return checkoutActivitiesFor(testWorkerConfig({ PAYMENTS_URL: stub.url }), { pool, provider, protection, logger: testLogger });
}

/** Inserts the payment row the api would have written, and returns the workflow input. */
async function newCheckout(request: Partial<CheckoutRequest> = {}): Promise<{ workflowId: string; input: CheckoutInput }> {
  const key = `ts-${crypto.randomUUID()}`;
  const full: CheckoutRequest = { customer_id: 'cust_ts', amount_cents: 1234, currency: 'USD', payment_method_id: 'pm_card_visa', ...request };
  const workflowId = checkoutWorkflowId(merchantId, key);
  const { row } = await insertPendingPayment(pool, {
    merchantId,
    paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
    idempotencyKey: key,
    workflowId,
    fingerprint: fingerprintOf(full),
    request: full,
  });
  return {
    workflowId,
    input: { paymentId: row.payment_id, idempotencyKey: key, request: full, createdAt: row.created_at.toISOString(), budgets: DEFAULT_ACTIVITY_BUDGETS },
  };
}

/** Test time from the workflow's start to its close, from its own history (the server's clock). */
async function workflowDurationMs(workflowId: string): Promise<number> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) =>
    Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  return ms(events.at(-1)?.eventTime) - ms(events[0]?.eventTime);
}

async function runWorkflow(activities: CheckoutActivities, workflowId: string, input: CheckoutInput) {
  const taskQueue = `ts-${crypto.randomUUID()}`;
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: WORKFLOWS_PATH, activities });
  return worker.runUntil(env.client.workflow.execute(checkout, { taskQueue, workflowId, args: [input] }));
}

describe('compensation (time-skipping)', () => {
  it('a ledger refusal after the charge refunds it under its own key: one charge, one refund, payment refunded, the charge and its reversal posted', async () => {
    const real = realActivities();
    const before = await stubStats();
    // Stand-in for a ledger refusal (a constraint the database raises): the
    // real refusal cannot be provoked through the api's validated input.
    const activities: CheckoutActivities = {
      ...real,
      async recordCompletedPayment() {
        throw ApplicationFailure.nonRetryable('ledger refused the posting (test stand-in)', FailureType.LedgerRefused);
      },
    };
    const { workflowId, input } = await newCheckout({ amount_cents: 4200 });
    const result = await runWorkflow(activities, workflowId, input);

    expect(result.outcome).toBe('refunded');
    expect(renderCheckoutAnswer(result)).toMatchObject({ status: 500, body: { status: 'refunded', error: { code: 'payment_reversed' } } });
    const mine = (await stubCharges(stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.refunded).toBe(true);
    const after = (await stubStats()) as { charges_applied: number; refunds_applied?: number };
    expect(after.charges_applied - before.charges_applied).toBe(1);
    expect((after.refunds_applied ?? 0) - ((before as { refunds_applied?: number }).refunds_applied ?? 0)).toBe(1);
    const row = await findPaymentById(pool, input.paymentId);
    expect(row).toMatchObject({ status: 'refunded', failure_code: 'payment_reversed', response_status: 500, provider_charge_id: mine[0]?.id });
    const postings = await pool.query('SELECT step FROM ledger_transactions WHERE workflow_id = $1 ORDER BY step', [workflowId]);
    expect(postings.rows.map((r) => r.step)).toEqual(['charge', 'refund']);
  });
});

describe('the happy path in one workflow task (time-skipping)', () => {
  it('a checkout that succeeds first time is one workflow task: every step a local activity, no activity task', async () => {
    const before = await stubStats();
    const { workflowId, input } = await newCheckout();
    const result = await runWorkflow(realActivities(), workflowId, input);

    expect(result.outcome).toBe('completed');
    const events = (await env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
    // fraud, charge, ledger, notification: each recorded as a local activity's marker
    const localActivities = events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity');
    expect(localActivities).toHaveLength(4);
    expect((await stubStats()).charges_applied - before.charges_applied).toBe(1);
    expect((await findPaymentById(pool, input.paymentId))?.status).toBe('completed');
  });
});

describe('checkout workflow retries (time-skipping)', () => {
  it('a charge failing twice with provider 500s is retried (first attempt local, then a regular activity) and succeeds on the third attempt, charging once', async () => {
    const real = realActivities();
    const attempts: number[] = [];
    const before = await stubStats();
    // The real activity against the real stub; this wrapper only flips the
    // stub's fault mode so the first two attempts meet a real 500.
    const activities: CheckoutActivities = {
      ...real,
      async chargePayment(input) {
        attempts.push(attempts.length + 1);
        await setFaults({ mode: attempts.length <= 2 ? 'error' : 'ok' });
        return real.chargePayment(input);
      },
    };
    const { workflowId, input } = await newCheckout();
    const result = await runWorkflow(activities, workflowId, input);

    expect(result.outcome).toBe('completed');
    expect(attempts).toEqual([1, 2, 3]);
    const after = await stubStats();
    expect(after.attempts - before.attempts).toBe(3);
    expect(after.charges_applied - before.charges_applied).toBe(1);
    expect((await findPaymentById(pool, input.paymentId))?.status).toBe('completed');
  });

  it('a decline is not retried: one provider attempt, payment failed, no ledger posting', async () => {
    const before = await stubStats();
    const { workflowId, input } = await newCheckout({ payment_method_id: 'pm_declined' });
    const result = await runWorkflow(realActivities(), workflowId, input);

    expect(result.outcome).toBe('declined');
    expect(renderCheckoutAnswer(result)).toMatchObject({ status: 402, body: { status: 'failed', error: { code: 'card_declined' } } });
    expect((await stubStats()).attempts - before.attempts).toBe(1);
    const postings = await pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE workflow_id = $1', [workflowId]);
    expect(postings.rows[0].n).toBe(0);
  });

  it("the provider's Retry-After is honoured: three 503s with Retry-After: 1, then success, take at least 3 s of test time", async () => {
    const real = realActivities();
    let calls = 0;
    // The real activity against the real stub; the wrapper only flips the stub's mode.
    const activities: CheckoutActivities = {
      ...real,
      async chargePayment(input) {
        calls += 1;
        await setFaults({ mode: calls <= 3 ? 'unavailable' : 'ok' });
        return real.chargePayment(input);
      },
    };
    const { workflowId, input } = await newCheckout();
    const result = await runWorkflow(activities, workflowId, input);
    const testMs = await workflowDurationMs(workflowId);

    expect(result.outcome).toBe('completed');
    expect(calls).toBe(4);
    // full jitter alone would often retry within 200-800 ms; Retry-After makes each wait >= 1 s
    expect(testMs).toBeGreaterThanOrEqual(3_000);
  });

  it('a provider that stays down: the breaker stops calls at its minimum volume and the payment fails when its total time ends, in test time', async () => {
    await setFaults({ mode: 'unavailable' }); // 503 + Retry-After: 1 on every call
    const protection = testProtection(pool, { breaker: { minVolume: 5 }, retryBudget: { minPerWindow: 1_000 } });
    const before = await stubStats();
    const { workflowId, input } = await newCheckout();
    const totalMs = 10 * 60_000;
    const wallStart = Date.now();
    const result = await runWorkflow(realActivities(protection), workflowId, { ...input, budgets: { ...DEFAULT_ACTIVITY_BUDGETS, chargeTotalMs: totalMs } });
    const wallMs = Date.now() - wallStart;
    const testMs = await workflowDurationMs(workflowId);

    expect(result.outcome).toBe('failed');
    expect(renderCheckoutAnswer(result)).toMatchObject({ status: 502, body: { error: { code: 'provider_unavailable' } } });
    // five real calls opened the breaker; every later attempt waited without touching the provider
    expect((await stubStats()).attempts - before.attempts).toBe(5);
    expect(await protection.state()).toBe('open');
    expect((await stubStats()).charges_applied).toBe(before.charges_applied);
    expect((await findPaymentById(pool, input.paymentId))?.status).toBe('failed');
    // Temporal fails the activity as soon as the next wait would pass the total,
    // so the end comes up to one breaker wait (open time + spread, < 45 s) early.
    expect(testMs).toBeGreaterThanOrEqual(totalMs - 45_000);
    expect(testMs).toBeLessThanOrEqual(totalMs + 5_000);
    expect(testMs).toBeGreaterThan(wallMs);
  });
});
