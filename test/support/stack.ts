// The whole checkout stack in one test process, every part real: the api on
// port 0, a worker on its own task queue, the payments stub over HTTP, the
// shared Temporal dev server and Postgres from global-setup.
import crypto from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pino from 'pino';
import { inject } from 'vitest';
import { createActivities, PaymentsProvider } from '../../activities';
import { createReconciliationActivities } from '../../activities/reconciliation/activities';
import { ProviderListings } from '../../activities/reconciliation/provider-listings';
import { createWebhookActivities, createWebhookHttpAgent } from '../../activities/webhooks/activities';
import { WebhookDispatcher } from '../../worker/webhook-dispatcher';
import { webhookTaskQueue } from '../../domain/webhooks';
import { startApiServer, type RunningApi } from '../../api/app';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { DEFAULT_ACTIVITY_BUDGETS } from '../../domain/checkout';
import type { MismatchKind } from '../../domain/reconciliation';
import { createCheckoutWorker } from '../../worker/create-worker';
import { createWebhookWorker } from '../../worker/webhook-worker';
import type { ProviderProtection } from '../../db/provider-protection';
import { testProtection, type ProtectionOverrides } from './protection';

export interface TestStack {
  api: RunningApi;
  /** This stack's breaker and retry budget (a provider name of its own). */
  protection: ProviderProtection;
  stub: RunningStub;
  pool: Pool;
  client: Client;
  taskQueue: string;
  /** The webhook outbox dispatcher, when options.webhooks asked for it. */
  webhookDispatcher?: WebhookDispatcher;
  stop(): Promise<void>;
}

// errors only: quiet, but a 5xx in a test run shows its cause
export const testLogger = pino({ level: 'error' });

/** Keeps the SDK's own logs to warnings, so test output shows what matters. */
export function quietTemporalRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

export interface TestStackOptions {
  apiBudgetMs?: number;
  /** The real breaker and retry budget, under a provider name of this stack's own. */
  protection?: ProtectionOverrides;
  /** The api's new checkouts per customer per minute; default 1,000,000 (test files share customers and the database). */
  rateLimitPerMinute?: number;
  /** The api's bound on checkouts in flight; default unbounded. */
  maxInFlightCheckouts?: number;
  /** Hears each reconciliation finding the worker records (the worker's metric does this in production). */
  onReconciliationMismatch?: (kind: MismatchKind) => void;
  /**
   * Runs the webhook outbox dispatcher (off by default: test files share the
   * database, and only the webhook tests should send other files' events).
   */
  webhooks?: { retryDelaysMs?: number[]; dispatchIntervalMs?: number };
}

export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  quietTemporalRuntime();
  const address = inject('temporalAddress');
  const pool = createPool(inject('databaseUrl'), 5);
  await migrate(pool);
  const stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
  const protection = testProtection(pool, options.protection);
  const provider = new PaymentsProvider({ baseUrl: stub.url, connectTimeoutMs: 500 });
  const activities = createActivities({
    pool,
    provider,
    protection,
    logger: testLogger,
    config: { fraudMaxAmountCents: 5_000_000, chargeTimeoutMs: DEFAULT_ACTIVITY_BUDGETS.chargeMs },
  });
  const listings = new ProviderListings({ baseUrl: stub.url, connectTimeoutMs: 500 });
  const reconciliationActivities = createReconciliationActivities({
    pool,
    listings,
    logger: testLogger,
    config: { httpTimeoutMs: 5_000 },
    onMismatch: options.onReconciliationMismatch,
  });
  const webhookHttp = createWebhookHttpAgent(1_000);
  const webhookActivities = createWebhookActivities({
    pool,
    http: webhookHttp,
    logger: testLogger,
    config: { requestTimeoutMs: 3_000, schedule: { delaysMs: options.webhooks?.retryDelaysMs ?? [200, 500, 1_000], jitterRatio: 0.2 } },
  });
  const taskQueue = `test-${crypto.randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const worker: Worker = await createCheckoutWorker({ connection: nativeConnection, namespace: 'default', taskQueue, activities: { ...activities, ...reconciliationActivities } });
  const webhookWorker = await createWebhookWorker({ connection: nativeConnection, namespace: 'default', checkoutTaskQueue: taskQueue, activities: webhookActivities });
  const workerRun = Promise.all([worker.run(), webhookWorker.run()]);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const api = await startApiServer(
    {
      client,
      pool,
      logger: testLogger,
      taskQueue,
      apiBudgetMs: options.apiBudgetMs ?? 3_000,
      activityBudgets: DEFAULT_ACTIVITY_BUDGETS,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 1_000_000,
      maxInFlightCheckouts: options.maxInFlightCheckouts,
    },
    0,
  );
  const webhookDispatcher = options.webhooks
    ? new WebhookDispatcher({
        pool,
        client,
        taskQueue: webhookTaskQueue(taskQueue),
        logger: testLogger,
        config: { intervalMs: options.webhooks.dispatchIntervalMs ?? 200, batchSize: 200, leaseMs: 30_000 },
      })
    : undefined;
  webhookDispatcher?.start();
  return {
    api,
    protection,
    stub,
    pool,
    client,
    taskQueue,
    webhookDispatcher,
    async stop() {
      await webhookDispatcher?.stop();
      await api.close();
      worker.shutdown();
      webhookWorker.shutdown();
      await workerRun;
      await nativeConnection.close();
      await connection.close();
      await provider.close();
      await listings.close();
      await webhookHttp.close();
      await stub.close();
      await pool.end();
    },
  };
}

/** A key no other test uses. */
export function uniqueKey(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

export function checkoutBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { customer_id: 'cust_test', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa', ...overrides };
}

export async function postCheckout(
  api: RunningApi,
  key: string | undefined,
  body: unknown,
  contentType = 'application/json',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test answers are read field by field
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${api.url}/checkout`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/**
 * What a well-behaved client does: POST, and while the answer is 202 (the api
 * budget passed before the checkout finished, as on a busy machine) POST the same
 * key again after Retry-After until the final answer. `first` is the first answer.
 */
export async function postCheckoutUntilFinal(
  api: RunningApi,
  key: string,
  body: unknown,
  timeoutMs = 60_000,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test answers are read field by field
): Promise<{ status: number; headers: Headers; body: any; first: number }> {
  const until = Date.now() + timeoutMs;
  let answer = await postCheckout(api, key, body);
  const first = answer.status;
  while (answer.status === 202) {
    if (Date.now() > until) throw new Error(`checkout ${key} still 202 after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1_000 * Number(answer.headers.get('retry-after') ?? 1)));
    answer = await postCheckout(api, key, body);
  }
  return { ...answer, first };
}

export interface StubCharge {
  id: string;
  idempotency_key: string;
  amount_cents: number;
  currency: string;
  refunded: boolean;
}

export async function stubCharges(stub: RunningStub): Promise<StubCharge[]> {
  const res = await fetch(`${stub.url}/charges`);
  return ((await res.json()) as { data: StubCharge[] }).data;
}
