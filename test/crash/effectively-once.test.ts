// Effectively-once under crashes, black-box over HTTP with every part real:
//  1. docs/design.md, "Failure scenarios and drills", scenario 5: the worker (a separate process) is SIGKILLed right
//     after the ledger commit and before Temporal hears the activity completed;
//     a second worker re-executes the activity, which finds its posting and
//     changes nothing.
//  2. the dedup window, docs/design.md "Idempotency": Temporal's state is wiped (a private dev server
//     restarted empty on the same port, or stopped entirely); a replay is
//     still answered from the payments row, byte-for-byte, with no new charge.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PaymentsProvider } from '../../activities';
import { buildApi } from '../../api/build';
import type { RunningApi } from '../../api/server';
import { checkoutActivitiesFor } from '../../worker/build';
import { migrate } from '../../db/migrate';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { spawnService, type ServiceProcess } from '../../stack/service-process';
import { startTemporalDevServer, type RunningDevServer } from '../../stack/temporal-dev-server';
import { renderCheckoutAnswer } from '../../domain/checkout-answer';
import { checkoutWorkflowId } from '../../domain/ids';
import { createWorker, WORKFLOWS_PATH } from '../../worker/create-worker';
import type { checkout as checkoutWorkflow } from '../../workflows';
import { freePort } from '../../stack/free-port';
import { dataConverterOf } from '../../temporal/data-converter';
import { bearer, createTestMerchant, type TestMerchant } from '../support/merchants';
import { checkoutBody, quietTemporalRuntime, testApiConfig, testEnv, testLogger, testWorkerConfig, stubCharges, uniqueKey } from '../support/stack';
import { testProtection } from '../support/protection';

const NAMESPACE = 'default';
const API_BUDGET_MS = 3_000;
const { TaskQueueType, TimeoutType } = temporal.api.enums.v1;

// ---------------------------------------------------------------- helpers

interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test answers are read field by field
  body: any;
}

/** POST /checkout as the merchant, with an exact body string, keeping the raw answer text. */
async function postRaw(api: RunningApi, merchant: TestMerchant, key: string, bodyText: string): Promise<RawAnswer> {
  const res = await fetch(`${api.url}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...bearer(merchant.apiKey), 'idempotency-key': key },
    body: bodyText,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, headers: res.headers, text, body };
}

/** Resolves with the promise, or rejects after ms: nothing in this file may hang. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every cleanup step, each bounded in time; one failing does not skip the others. */
async function cleanUp(steps: Array<[string, () => Promise<unknown> | unknown]>, ms = 15_000): Promise<void> {
  const problems: string[] = [];
  for (const [what, step] of steps) {
    try {
      await within(Promise.resolve().then(step), ms, what);
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) console.warn(`[effectively-once] clean-up problems: ${problems.join('; ')}`);
}

/** A worker started as its own process (`tsx worker/main.ts`), its output kept for diagnostics. */
interface WorkerProcess {
  service: ServiceProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawnWorkerProcess(env: NodeJS.ProcessEnv): WorkerProcess {
  const service = spawnService('worker', 'worker/main.ts', env, 'pipe');
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
  };
  service.child.stdout?.on('data', keep);
  service.child.stderr?.on('data', keep);
  return {
    service,
    output: () => output,
    async stop() {
      await within(service.stop(), 15_000, 'worker process stop').catch(() => undefined);
    },
  };
}

function hasExited(service: ServiceProcess): boolean {
  return service.child.exitCode !== null || service.child.signalCode !== null;
}

async function pollerIdentities(client: Client, taskQueue: string, type: temporal.api.enums.v1.TaskQueueType): Promise<string[]> {
  const res = await client.workflowService.describeTaskQueue({
    namespace: NAMESPACE,
    taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: type,
  });
  return (res.pollers ?? []).map((p) => p.identity ?? '').filter(Boolean);
}

/**
 * Waits until a poller not in `known` polls both the workflow and the activity
 * task queue (Temporal's own view of the worker), and returns its identities.
 */
async function waitForNewPoller(client: Client, taskQueue: string, known: Set<string>, worker: WorkerProcess, timeoutMs = 40_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (hasExited(worker.service)) {
      throw new Error(`the worker exited (code ${worker.service.child.exitCode}) before polling:\n${worker.output()}`);
    }
    const [workflowPollers, activityPollers] = await Promise.all([
      pollerIdentities(client, taskQueue, TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
      pollerIdentities(client, taskQueue, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY),
    ]);
    const fresh = activityPollers.filter((id) => !known.has(id) && workflowPollers.includes(id));
    if (fresh.length > 0) return fresh;
    if (Date.now() > deadline) throw new Error(`no worker polled ${taskQueue} within ${timeoutMs} ms:\n${worker.output()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ledgerTransactionsFor(pool: Pool, workflowId: string): Promise<number> {
  const res = await pool.query('SELECT count(*)::int AS n FROM ledger_transactions WHERE workflow_id = $1', [workflowId]);
  return res.rows[0].n as number;
}

async function stubStats(stub: RunningStub): Promise<{ attempts: number; charges_applied: number }> {
  return (await (await fetch(`${stub.url}/stats`)).json()) as { attempts: number; charges_applied: number };
}

// ------------------------------------------------- 1. crash after the ledger commit

describe('crash after the ledger commit, before the activity completes (docs/design.md, "Failure scenarios and drills", scenario 5)', () => {
  let pool: Pool | undefined;
  let stub: RunningStub | undefined;
  let connection: Connection | undefined;
  let client: Client;
  let api: RunningApi | undefined;
  let merchant: TestMerchant;
  let taskQueue: string;
  let workerEnv: NodeJS.ProcessEnv;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    const address = inject('temporalAddress');
    pool = createPool(inject('databaseUrl'), 5);
    await migrate(pool);
    stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
    connection = await Connection.connect({ address });
    // the worker processes encrypt payloads with the test keys (workerEnv): this client reads them with the same
    client = new Client({ connection, namespace: NAMESPACE, dataConverter: dataConverterOf(testWorkerConfig().temporal.dataProtection) });
    taskQueue = `crash-${uniqueKey('ledger')}`;
    api = await buildApi(testApiConfig({ TEMPORAL_TASK_QUEUE: taskQueue, API_BUDGET_MS: String(API_BUDGET_MS) }), { client, pool, logger: testLogger }).listen(0);
    merchant = await createTestMerchant(pool);
    workerEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: NAMESPACE,
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: inject('databaseUrl'),
      PAYLOAD_KEYS: testEnv().PAYLOAD_KEYS,
      CUSTOMER_ID_HASH_KEY: testEnv().CUSTOMER_ID_HASH_KEY,
      PAYMENTS_URL: stub.url,
      LOG_LEVEL: 'warn',
      WORKER_METRICS_PORT: '0', // any free port: another worker may hold the default
    };
  });

  afterAll(async () => {
    await cleanUp([
      ...workers.map((w, i): [string, () => Promise<void>] => [`worker process ${i + 1}`, () => w.stop()]),
      ['api', () => api?.close()],
      ['Temporal client', () => connection?.close()],
      ['payments stub', () => stub?.close()],
      ['Postgres pool', () => pool?.end()],
    ]);
  });

  it('a worker SIGKILLed after the ledger commit: the retry on a new worker posts nothing new, one charge, one posting, replay 200', async () => {
    if (!api || !pool || !stub) throw new Error('beforeAll did not finish');
    const key = uniqueKey('crash-after-ledger');
    const workflowId = checkoutWorkflowId(merchant.merchantId, key);
    const bodyText = JSON.stringify(checkoutBody({ amount_cents: 3141 }));

    // Worker 1 carries the fault hook.
    const crashing = spawnWorkerProcess({ ...workerEnv, CHECKOUT_CRASH_AFTER_LEDGER_COMMIT: '1' });
    workers.push(crashing);
    const crashingPollers = await waitForNewPoller(client, taskQueue, new Set(), crashing);

    const first = await postRaw(api, merchant, key, bodyText);
    console.log(`[crash after ledger] first answer: ${first.status} ${first.text}`);
    // The workflow cannot finish within the budget once its worker is dead: 202 is expected.
    expect([201, 202]).toContain(first.status);
    const paymentId: string = first.body.payment_id;
    expect(paymentId).toMatch(/^pay_/);
    if (first.status === 202) {
      expect(first.headers.get('location')).toBe(`/payments/${paymentId}`);
      expect(first.body).toEqual({ payment_id: paymentId, status: 'pending' });
    }

    // Worker 1 killed itself with SIGKILL.
    await within(crashing.service.exited, 15_000, 'the crashing worker to exit');
    const diedAt = Date.now();
    const { exitCode, signalCode } = crashing.service.child;
    expect(signalCode, `worker 1 exit code ${exitCode}, signal ${signalCode}; output:\n${crashing.output()}`).toBe('SIGKILL');
    console.log(`[crash after ledger] worker 1 ended: exit code ${exitCode}, signal ${signalCode}`);
    // (The hook's own warning line is not asserted: pino writes stdout
    // asynchronously, so the SIGKILL right after it usually loses the line.)

    // The commit happened before the crash: posting and payment row are there, the workflow is not done.
    expect(await ledgerTransactionsFor(pool, workflowId)).toBe(1);
    const handle = client.workflow.getHandle<typeof checkoutWorkflow>(workflowId);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // Worker 2, without the hook, on the same task queue.
    const healthy = spawnWorkerProcess({ ...workerEnv, CHECKOUT_CRASH_AFTER_LEDGER_COMMIT: '0' });
    workers.push(healthy);
    await waitForNewPoller(client, taskQueue, new Set(crashingPollers), healthy);

    const outcome = await client.withAbortSignal(AbortSignal.timeout(45_000), () => handle.result());
    const recoveryMs = Date.now() - diedAt;
    console.log(`[crash after ledger] workflow completed ${recoveryMs} ms after worker 1 died`);
    expect(outcome.outcome).toBe('completed');
    if (outcome.outcome !== 'completed') throw new Error(`workflow ended ${outcome.outcome}`);
    const answer = renderCheckoutAnswer(outcome);
    expect(answer.body).toMatchObject({ payment_id: paymentId, status: 'completed', amount_cents: 3141, currency: 'USD' });

    // One posting, balanced; one charge at the provider; the payment completed.
    expect(await ledgerTransactionsFor(pool, workflowId)).toBe(1);
    const entries = await pool.query(
      `SELECT e.direction, e.amount_cents FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
        WHERE t.workflow_id = $1 ORDER BY e.direction`,
      [workflowId],
    );
    expect(entries.rows).toEqual([
      { direction: 'credit', amount_cents: 3141 },
      { direction: 'debit', amount_cents: 3141 },
    ]);
    const charges = (await stubCharges(stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`);
    expect(charges).toHaveLength(1);
    expect(charges[0]?.id).toBe(outcome.payment.provider_charge_id);
    expect((await stubStats(stub)).charges_applied).toBe(1);

    const payment = await fetch(`${api.url}/payments/${paymentId}`, { headers: bearer(merchant.apiKey) });
    expect(payment.status).toBe(200);
    expect(await payment.json()).toMatchObject({ payment_id: paymentId, status: 'completed', provider_charge_id: charges[0]?.id });

    const replay = await postRaw(api, merchant, key, bodyText);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.payment_id).toBe(paymentId);
    expect(replay.body).toEqual(answer.body);

    // The ledger write is a local activity inside the checkout's one workflow task: the history shows
    // that task timed out (worker 1 died in it) and the next run of it completed the checkout, its
    // local activities run again under the same keys, no activity task scheduled at all.
    const events = (await handle.fetchHistory()).events ?? [];
    const timedOutTasks = events.filter((e) => e.workflowTaskTimedOutEventAttributes);
    console.log(`[crash after ledger] workflow tasks timed out: ${timedOutTasks.length}`);
    expect(timedOutTasks.length).toBeGreaterThanOrEqual(1);
    expect(timedOutTasks[0]?.workflowTaskTimedOutEventAttributes?.timeoutType).toBe(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);
    expect(events.filter((e) => e.workflowTaskCompletedEventAttributes)).toHaveLength(1);
    expect(events.filter((e) => e.activityTaskScheduledEventAttributes)).toHaveLength(0);
  }, 90_000);
});

// ------------------------------------------------- 2. replay after Temporal's state is wiped

describe("a replay after Temporal's state is wiped (the dedup window, docs/design.md, 'Idempotency')", () => {
  let port: number;
  let server: RunningDevServer | undefined;
  let pool: Pool | undefined;
  let stub: RunningStub | undefined;
  let provider: PaymentsProvider | undefined;
  let connection: Connection | undefined;
  let client: Client;
  let api: RunningApi | undefined;
  let merchant: TestMerchant;
  let taskQueue: string;
  let bundle: WorkflowBundleWithSourceMap;
  let activities: ReturnType<typeof checkoutActivitiesFor>;
  let worker: { stop(): Promise<void> } | undefined;

  /** An in-process worker on the private server, from a bundle made once. */
  async function startWorker(address: string): Promise<{ stop(): Promise<void> }> {
    const native = await NativeConnection.connect({ address });
    let created: Worker;
    try {
      created = await createWorker({
        connection: native,
        namespace: NAMESPACE,
        taskQueue,
        activities,
        options: { workflowsPath: undefined, workflowBundle: bundle },
      });
    } catch (err) {
      await native.close();
      throw err;
    }
    const running = created.run();
    return {
      async stop() {
        created.shutdown();
        try {
          await within(running, 15_000, 'in-process worker shutdown');
        } finally {
          await native.close();
        }
      },
    };
  }

  async function startServer(): Promise<RunningDevServer> {
    return startTemporalDevServer({ cli: inject('temporalCli'), port, namespace: NAMESPACE });
  }

  async function waitUntilReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!api) throw new Error('no api');
      const res = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
      if (res.status === 200) return;
      if (Date.now() > deadline) throw new Error(`/readyz still ${res.status}: ${await res.text()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    quietTemporalRuntime();
    port = await freePort();
    server = await startServer();
    pool = createPool(inject('databaseUrl'), 5);
    await migrate(pool);
    stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
    provider = new PaymentsProvider({ baseUrl: stub.url, connectTimeoutMs: 500 });
    activities = checkoutActivitiesFor(testWorkerConfig({ PAYMENTS_URL: stub.url }), { pool, provider, protection: testProtection(pool), logger: testLogger });
    taskQueue = `wiped-${uniqueKey('temporal')}`;
    bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
    worker = await startWorker(server.address);
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection, namespace: NAMESPACE });
    api = await buildApi(testApiConfig({ TEMPORAL_TASK_QUEUE: taskQueue, API_BUDGET_MS: String(API_BUDGET_MS) }), { client, pool, logger: testLogger }).listen(0);
    merchant = await createTestMerchant(pool);
  });

  afterAll(async () => {
    // The worker first, while its server still answers, then the server.
    await cleanUp([
      ['in-process worker', () => worker?.stop()],
      ['api', () => api?.close()],
      ['Temporal client', () => connection?.close()],
      ['private Temporal dev server', () => server?.stop()],
      ['payments provider client', () => provider?.close()],
      ['payments stub', () => stub?.close()],
      ['Postgres pool', () => pool?.end()],
    ]);
  });

  it('with Temporal stopped, then restarted empty on the same port, a replay is 200 byte-for-byte and charges nothing', async () => {
    if (!api || !stub || !server) throw new Error('beforeAll did not finish');
    const key = uniqueKey('wiped');
    const workflowId = checkoutWorkflowId(merchant.merchantId, key);
    const countQuery = `WorkflowId = "${workflowId}"`;
    const bodyText = JSON.stringify(checkoutBody({ amount_cents: 2718 }));

    const first = await postRaw(api, merchant, key, bodyText);
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(first.body).toMatchObject({ status: 'completed', amount_cents: 2718 });
    const chargesAfterFirst = (await stubCharges(stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`);
    expect(chargesAfterFirst).toHaveLength(1);
    const statsAfterFirst = await stubStats(stub);
    // The old server knew the workflow (visibility may lag a moment).
    await expect.poll(async () => (await client.workflow.count(countQuery)).count, { timeout: 10_000 }).toBe(1);

    // Wipe: the worker leaves first, then the in-memory server goes with all its state.
    await worker?.stop();
    worker = undefined;
    await server.stop();

    // Temporal gone entirely: /readyz says so, and the replay is answered from the payments row.
    const notReady = await fetch(`${api.url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { temporal: string }).temporal).not.toBe('ok');
    const whileDown = await postRaw(api, merchant, key, bodyText);
    expect(whileDown.status, whileDown.text).toBe(200);
    expect(whileDown.headers.get('idempotent-replayed')).toBe('true');
    expect(whileDown.text).toBe(first.text);

    // A new, empty server on the same port, with a worker that would run anything started by mistake.
    server = await startServer();
    worker = await startWorker(server.address);
    await waitUntilReady();

    const afterWipe = await postRaw(api, merchant, key, bodyText);
    expect(afterWipe.status, afterWipe.text).toBe(200);
    expect(afterWipe.headers.get('idempotent-replayed')).toBe('true');
    expect(afterWipe.body).toEqual(first.body);
    expect(afterWipe.text).toBe(first.text);

    // Nothing ran on the new server and nothing reached the provider.
    expect((await client.workflow.count(countQuery)).count).toBe(0);
    expect((await client.workflow.count(`TaskQueue = "${taskQueue}"`)).count).toBe(0);
    expect((await stubCharges(stub)).filter((c) => c.idempotency_key === `${workflowId}:charge`)).toEqual(chargesAfterFirst);
    expect(await stubStats(stub)).toEqual(statsAfterFirst);
  }, 60_000);
});
