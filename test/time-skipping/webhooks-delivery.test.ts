// The delivery workflow on Temporal's time-skipping test server: the real
// 5 s ... 24 h schedule (three days in all) passes in test time. The outbox,
// the dispatcher, the activity, Postgres and the receiver's HTTP are real.
import crypto from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createWebhookActivities, createWebhookHttpAgent } from '../../activities/webhooks/activities';
import { startDeliveryWorkflow } from '../../workflow-starts/webhook-delivery';
import { WebhookDispatcher } from '../../worker/webhook-dispatcher';
import { webhookDeliveryWorkflowId } from '../../domain/webhooks';
import { newWebhookSecret } from '../../db/webhooks-endpoints';
import { parseDurationList } from '../../config';
import { insertMerchant } from '../../db/merchants';
import { migrate } from '../../db/migrate';
import { insertPendingPayment } from '../../db/payments';
import { createPool, type Pool } from '../../db/pool';
import { listDeliveries, type WebhookDeliveryRow } from '../../db/webhooks-deliveries';
import { deleteEndpoint, findEndpoint, insertEndpoint, newEndpointId } from '../../db/webhooks-endpoints';
import { insertPaymentEvent } from '../../db/webhooks-events';
import { WORKFLOWS_PATH } from '../../worker/create-worker';
import { createWebhookReceiver, type WebhookReceiver } from '../../webhook-receiver/receiver';
import { quietTemporalRuntime, testLogger } from '../support/stack';

// the production default, as config.ts parses it
const SCHEDULE_MS = parseDurationList('WEBHOOK_RETRY_SCHEDULE', '5s,5m,30m,2h,5h,10h,14h,20h,24h');
const JITTER = 0.2;

let env: TestWorkflowEnvironment;
let pool: Pool;
let http: ReturnType<typeof createWebhookHttpAgent>;
let bundle: WorkflowBundleWithSourceMap;
let activities: ReturnType<typeof createWebhookActivities>;
let dispatcher: WebhookDispatcher;
let merchantId: string;
const taskQueue = `ts-webhooks-${crypto.randomUUID()}`;
const endpoints: string[] = [];
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  quietTemporalRuntime();
  env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  pool = createPool(inject('databaseUrl'), 5);
  await migrate(pool);
  merchantId = (await insertMerchant(pool, 'time-skipping webhooks')).id;
  http = createWebhookHttpAgent(1_000);
  activities = createWebhookActivities({
    pool,
    http,
    logger: testLogger,
    // the receivers are 127.0.0.1 literals: nothing here is ever looked up
    targets: { allowPrivateNetworks: true, resolve: async (host) => Promise.reject(new Error(`no DNS in this test (${host})`)) },
    config: { requestTimeoutMs: 2_000, schedule: { delaysMs: SCHEDULE_MS, jitterRatio: JITTER } },
  });
  // bundled once: a worker runs until one workflow's result, so each test makes its own
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
  dispatcher = new WebhookDispatcher({
    pool,
    client: env.client,
    taskQueue,
    logger: testLogger,
    config: { intervalMs: 1_000, batchSize: 10, leaseMs: 30_000 },
  });
});

afterEach(async () => {
  // test files share the database: leave no endpoint that later events would fan out to
  for (const id of endpoints.splice(0)) await deleteEndpoint(pool, merchantId, id);
  for (const r of receivers.splice(0)) await r.close();
});

afterAll(async () => {
  await http?.close();
  await pool?.end();
  await env?.teardown();
});

/** Runs a worker until the delivery workflow ends, and returns its result. */
async function deliveryResult(workflowId: string): Promise<unknown> {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
  return worker.runUntil(env.client.workflow.result(workflowId));
}

/** A real receiver on a local port, registered as an endpoint for every payment event. */
async function endpointWithReceiver(): Promise<{ endpointId: string; receiver: WebhookReceiver }> {
  const secret = newWebhookSecret();
  const receiver = createWebhookReceiver({ secret });
  receivers.push(receiver);
  const url = await receiver.listen(0);
  const endpointId = newEndpointId();
  await insertEndpoint(pool, { id: endpointId, merchantId, url, events: ['payment.completed', 'payment.failed', 'payment.refunded'], secret });
  endpoints.push(endpointId);
  return { endpointId, receiver };
}

/** A pending payment of this file's merchant: an event belongs to its payment's merchant. */
async function newPayment(): Promise<string> {
  const paymentId = `pay_ts_${crypto.randomUUID().replace(/-/g, '')}`;
  await insertPendingPayment(pool, {
    merchantId,
    paymentId,
    idempotencyKey: paymentId,
    workflowId: `checkout-test-${paymentId}`,
    fingerprint: 'time-skipping',
    request: { customer_id: 'cust_ts', amount_cents: 4200, currency: 'EUR', payment_method_id: 'pm_card_visa' },
  });
  return paymentId;
}

/** A payment.completed in the outbox, dispatched to this test's endpoint; returns its delivery and workflow ID. */
async function dispatchedEvent(endpointId: string): Promise<{ eventId: string; delivery: WebhookDeliveryRow; workflowId: string }> {
  const paymentId = await newPayment();
  const eventId = await insertPaymentEvent(pool, 'payment.completed', { payment_id: paymentId, status: 'completed', amount_cents: 4200, currency: 'EUR' });
  const deliveries = await dispatcher.dispatchEvent({ id: eventId, type: 'payment.completed' });
  const delivery = deliveries.find((d) => d.endpoint_id === endpointId);
  if (!delivery) throw new Error(`no delivery of ${eventId} to ${endpointId}`);
  return { eventId, delivery, workflowId: webhookDeliveryWorkflowId(eventId, endpointId) };
}

async function deliveryRow(id: string): Promise<WebhookDeliveryRow> {
  const rows = await listDeliveries(pool, merchantId, { limit: 1_000 });
  const row = rows.find((d) => d.id === id);
  if (!row) throw new Error(`no delivery ${id}`);
  return row;
}

async function attemptRows(deliveryId: string): Promise<Array<{ attempt: number; status_code: number | null }>> {
  const res = await pool.query<{ attempt: number; status_code: number | null }>(
    'SELECT attempt, status_code FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY id',
    [deliveryId],
  );
  return res.rows;
}

/** The timers the workflow slept, in test time, from its own history. */
async function timerDurationsMs(workflowId: string): Promise<number[]> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.timerStartedEventAttributes)
    .map((e) => {
      const t = e.timerStartedEventAttributes?.startToFireTimeout;
      return Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
    });
}

describe('webhook delivery schedule (time-skipping)', () => {
  it('an endpoint down for good: ten attempts over the whole 5 s ... 24 h schedule, then a dead letter', async () => {
    const { endpointId, receiver } = await endpointWithReceiver();
    receiver.failWith(503);
    const { delivery, workflowId } = await dispatchedEvent(endpointId);

    const result = await deliveryResult(workflowId);

    expect(result).toMatchObject({ done: true, status: 'dead', attempts: 10, lastStatusCode: 503 });
    expect(receiver.failedOnPurpose).toBe(10);
    const row = await deliveryRow(delivery.id);
    expect(row).toMatchObject({ status: 'dead', attempts: 10, last_status_code: 503, next_attempt_at: null, delivered_at: null });
    expect((await attemptRows(delivery.id)).map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // in the dead-letter list the api serves (GET /webhook-deliveries?status=dead)
    expect((await listDeliveries(pool, merchantId, { status: 'dead', limit: 1_000 })).map((d) => d.id)).toContain(delivery.id);
    // each wait is the schedule's, jittered within ±20 %: not all the same as the schedule
    const timers = await timerDurationsMs(workflowId);
    expect(timers).toHaveLength(9);
    timers.forEach((ms, i) => {
      const base = SCHEDULE_MS[i] as number;
      expect(ms).toBeGreaterThanOrEqual(Math.floor(base * (1 - JITTER)));
      expect(ms).toBeLessThanOrEqual(Math.ceil(base * (1 + JITTER)));
    });
    expect(timers).not.toEqual(SCHEDULE_MS);
  });

  it('a delivery that succeeds on the third attempt stops retrying', async () => {
    const { endpointId, receiver } = await endpointWithReceiver();
    receiver.failWith(500, 2);
    const { eventId, delivery, workflowId } = await dispatchedEvent(endpointId);

    const result = await deliveryResult(workflowId);

    expect(result).toMatchObject({ done: true, status: 'delivered', attempts: 3, lastStatusCode: 204 });
    expect(receiver.failedOnPurpose).toBe(2);
    // one verified copy, under the event's id (the same webhook-id on every attempt)
    expect(receiver.received.map((w) => [w.webhookId, w.type])).toEqual([[eventId, 'payment.completed']]);
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: 'delivered', attempts: 3, last_status_code: 204, next_attempt_at: null });
    expect((await attemptRows(delivery.id)).map((a) => a.status_code)).toEqual([500, 500, 204]);
    expect(await timerDurationsMs(workflowId)).toHaveLength(2);
  });

  it('a 410 Gone disables the endpoint and ends the delivery; later events are not sent to it', async () => {
    const { endpointId, receiver } = await endpointWithReceiver();
    receiver.failWith(410);
    const { delivery, workflowId } = await dispatchedEvent(endpointId);

    const result = await deliveryResult(workflowId);

    expect(result).toMatchObject({ done: true, status: 'cancelled', attempts: 1, lastStatusCode: 410 });
    expect(await findEndpoint(pool, merchantId, endpointId)).toMatchObject({ status: 'disabled', disabled_reason: 'the endpoint answered 410 Gone' });
    expect(await deliveryRow(delivery.id)).toMatchObject({ status: 'cancelled', attempts: 1 });
    const next = await insertPaymentEvent(pool, 'payment.failed', { payment_id: await newPayment(), status: 'failed' });
    const deliveries = await dispatcher.dispatchEvent({ id: next, type: 'payment.failed' });
    expect(deliveries.map((d) => d.endpoint_id)).not.toContain(endpointId);
    expect(receiver.failedOnPurpose).toBe(1);
  });

  it('dispatching an event twice (a crash before it was marked) starts no second delivery', async () => {
    const { endpointId, receiver } = await endpointWithReceiver();
    const { eventId, delivery, workflowId } = await dispatchedEvent(endpointId);
    await deliveryResult(workflowId);
    // the dispatcher died after starting the workflow and before marking the event
    await pool.query('UPDATE webhook_events SET dispatched_at = NULL WHERE id = $1', [eventId]);
    const again = await dispatcher.dispatchEvent({ id: eventId, type: 'payment.completed' });
    expect(again.filter((d) => d.endpoint_id === endpointId).map((d) => d.id)).toEqual([delivery.id]);
    expect(receiver.received.filter((w) => w.webhookId === eventId)).toHaveLength(1);
    // Temporal refuses a second start of the finished delivery's workflow ID
    expect(await startDeliveryWorkflow(env.client, taskQueue, delivery)).toBe(false);
  });
});
