import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import pino from 'pino';
import { inject } from 'vitest';
import { buildApi, type ListeningApi } from '../../api/build';
import type { Logger } from '../../logger';
import { tracingClientInterceptors } from '../../observability/temporal-client';
import type { RunningApi } from '../../api/server';
import { loadApiConfig, loadWorkerConfig, type ApiConfig, type WorkerConfig } from '../../config';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import type { ProviderProtection } from '../../db/provider-protection';
import type { MismatchKind } from '../../domain/reconciliation';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { connectionOptionsOf } from '../../temporal/connection-options';
import { dataConverterOf } from '../../temporal/data-converter';
import { RecordedOutcomes } from '../../worker/recorded-outcomes';
import { buildWorker } from '../../worker/build';
import { createWorkerMetrics } from '../../worker/metrics';
import { serveMetrics } from '../../metrics-server';
import { registerContractOrigin } from './contract-origins';
import { bearer, createTestMerchant, TEST_API_KEY_PEPPER, type TestMerchant } from './merchants';
import { testProtection, type ProtectionOverrides } from './protection';

/** An api under test and the key a test calls it with (the stack's merchant's, unless a test says otherwise). */
export type TestApi = Pick<RunningApi, 'url'> & Partial<Pick<ListeningApi, 'metricsUrl'>> & { apiKey?: string };

export interface TestStack {
  /** called with `merchant`'s secret key by postCheckout and authHeaders */
  api: ListeningApi & { apiKey: string };
  /** the merchant this stack's api acts for, unless a test passes another key */
  merchant: TestMerchant;
  /** This stack's breaker and retry budget (a provider name of its own). */
  protection: ProviderProtection;
  stub: RunningStub;
  pool: Pool;
  client: Client;
  /** The client's and the worker's (payloads encrypted under TEST_PAYLOAD_KEYS): replay this stack's histories with it. */
  dataConverter: DataConverter;
  taskQueue: string;
  /** The worker's metrics (side effects, charge attempts, provider latency), served as the worker process serves them. */
  worker: { metricsUrl: string };
  stop(): Promise<void>;
}

// errors only: quiet, but a 5xx in a test run shows its cause
/** Fixed keys, so a test can decrypt what a test stack wrote (test/integration/payload-encryption.test.ts). */
export const TEST_PAYLOAD_KEYS = `test1:${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_CUSTOMER_ID_HASH_KEY = 'test-customer-id-hash-key-0123456789abcdef';

export const testLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'error' });

/** Keeps the SDK's own logs to warnings, so test output shows what matters. */
export function quietTemporalRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

/**
 * The environment the test processes' config is loaded from: config.ts's own
 * defaults but for what a test stack must differ in (its task queue, the
 * stub's URL, rates no shared test database could keep under).
 */
export function testEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    DATABASE_URL: inject('databaseUrl'),
    DATABASE_MIGRATION_URL: inject('databaseOwnerUrl'),
    DATABASE_POOL_SIZE: '5',
    API_KEY_PEPPER: TEST_API_KEY_PEPPER,
    PAYLOAD_KEYS: TEST_PAYLOAD_KEYS,
    CUSTOMER_ID_HASH_KEY: TEST_CUSTOMER_ID_HASH_KEY,
    API_METRICS_PORT: '0',
    // test files share customers and the database
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_IN_FLIGHT_CHECKOUTS: '1000000',
    WEBHOOK_RETRY_SCHEDULE: '200ms,500ms,1s',
    WEBHOOK_REQUEST_TIMEOUT_MS: '3000',
    WEBHOOK_CONNECT_TIMEOUT_MS: '1000',
    WEBHOOK_DISPATCH_INTERVAL_MS: '200',
    // the example and test receivers listen on 127.0.0.1
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1',
    ...env,
  };
}

/** The worker's config for a test: config.ts's defaults with testEnv's differences. */
export function testWorkerConfig(env: Record<string, string | undefined> = {}): WorkerConfig {
  return loadWorkerConfig(testEnv(env));
}

/** The api's config for a test: config.ts's defaults with testEnv's differences. */
export function testApiConfig(env: Record<string, string | undefined> = {}): ApiConfig {
  return loadApiConfig(testEnv(env));
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
  /** The api's and the worker's logger; default testLogger (errors only). */
  logger?: Logger;
}

/**
 * The whole checkout stack in this process, wired by the same buildWorker and
 * buildApi as the real processes: the api on port 0, a worker on a task queue
 * of its own, the payments stub over HTTP, the shared Temporal dev server and
 * Postgres from global-setup.
 */
export async function startTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  quietTemporalRuntime();
  const stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
  const taskQueue = `test-${crypto.randomUUID()}`;
  const env = testEnv({
    TEMPORAL_TASK_QUEUE: taskQueue,
    PAYMENTS_URL: stub.url,
    PORT: '0',
    ...(options.apiBudgetMs !== undefined ? { API_BUDGET_MS: String(options.apiBudgetMs) } : {}),
    ...(options.rateLimitPerMinute !== undefined ? { RATE_LIMIT_PER_MINUTE: String(options.rateLimitPerMinute) } : {}),
    ...(options.maxInFlightCheckouts !== undefined ? { MAX_IN_FLIGHT_CHECKOUTS: String(options.maxInFlightCheckouts) } : {}),
    ...(options.webhooks?.retryDelaysMs ? { WEBHOOK_RETRY_SCHEDULE: options.webhooks.retryDelaysMs.map((ms) => `${ms}ms`).join(',') } : {}),
    ...(options.webhooks?.dispatchIntervalMs !== undefined ? { WEBHOOK_DISPATCH_INTERVAL_MS: String(options.webhooks.dispatchIntervalMs) } : {}),
  });
  const workerConfig = loadWorkerConfig(env);
  const apiConfig = loadApiConfig(env);
  const pool = createPool(workerConfig.database.url, workerConfig.database.poolSize, undefined, workerConfig.databaseSession.pool);
  await migrate(workerConfig.database.migrationUrl);
  // one NativeConnection for the worker and the api's client, as in the api process
  // (API_EAGER_START): checkouts start eagerly on this worker
  const nativeConnection = await NativeConnection.connect(connectionOptionsOf(workerConfig.temporal));
  // traced when the test started tracing (observability/tracing.ts), as the api process's client; encrypted as the worker's
  const dataConverter = dataConverterOf(workerConfig.temporal.dataProtection);
  const client = new Client({ connection: nativeConnection, namespace: workerConfig.temporal.namespace, dataConverter, interceptors: tracingClientInterceptors() });
  // the worker's commits heard by the api, as the api process's hosted worker does (API_RESULT_WAIT=recording)
  const recordedOutcomes = new RecordedOutcomes();
  const workerMetrics = createWorkerMetrics();
  const workerMetricsServer = await serveMetrics(workerMetrics.registry, 0, '127.0.0.1');
  const worker = await buildWorker(workerConfig, {
    metrics: workerMetrics,
    onRecorded: (workflowId, outcome) => recordedOutcomes.recorded(workflowId, outcome),
    connection: nativeConnection,
    client,
    pool,
    logger: options.logger ?? testLogger,
    protection: testProtection(pool, options.protection),
    onReconciliationMismatch: options.onReconciliationMismatch,
    dispatchWebhooks: options.webhooks !== undefined,
  });
  const workerRun = worker.run();
  const merchant = await createTestMerchant(pool);
  const listening = await buildApi(apiConfig, { client, pool, logger: options.logger ?? testLogger, eagerStart: true, recordedOutcomes }).listen(apiConfig.api.port);
  const api = { ...listening, apiKey: merchant.apiKey };
  registerContractOrigin(api.url);
  return {
    api,
    merchant,
    protection: worker.protection,
    stub,
    pool,
    client,
    dataConverter,
    taskQueue,
    worker: { metricsUrl: `http://127.0.0.1:${(workerMetricsServer.address() as AddressInfo).port}` },
    async stop() {
      await api.close();
      workerMetricsServer.close();
      worker.shutdown();
      await workerRun;
      await worker.close();
      await nativeConnection.close();
      await stub.close();
      await pool.end();
    },
  };
}

/** One series of an api's metrics (on its metrics port), by its exact name and labels; 0 when absent. */
export async function metricValue(api: { metricsUrl: string }, series: string): Promise<number> {
  const text = await (await fetch(`${api.metricsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? 0);
}

/** A key no other test uses. */
export function uniqueKey(label: string): string {
  return `${label}-${crypto.randomUUID()}`;
}

export function checkoutBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { customer_id: 'cust_test', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa', ...overrides };
}

/** The Authorization header of the api's key, if it has one. */
export function authHeaders(api: TestApi): Record<string, string> {
  return api.apiKey === undefined ? {} : bearer(api.apiKey);
}

export async function postCheckout(
  api: TestApi,
  key: string | undefined,
  body: unknown,
  contentType = 'application/json',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test answers are read field by field
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': contentType, ...authHeaders(api) };
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
  api: TestApi,
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

export async function stubCharges(stub: Pick<RunningStub, 'url'>): Promise<StubCharge[]> {
  const res = await fetch(new URL('/charges', stub.url), { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { data: StubCharge[] }).data;
}
