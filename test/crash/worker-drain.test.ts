// A deploy stops a worker with SIGTERM: it must finish the charge it is
// running, not cancel it mid-call. A real worker process (and api, stub and
// Postgres of its own; the shared Temporal dev server) with a slow provider:
// SIGTERM lands while a charge is at the provider; the worker exits 0 after
// the charge completed, a fresh worker finishes the checkout, and the
// workflow's history shows no activity attempt failed (cancelled) and retried.
import crypto from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCheckoutClient } from '../../client/checkout-client';
import { loadStackConfig, loadWorkerConfig } from '../../config';
import { checkoutWorkflowId } from '../../domain/ids';
import { THROWAWAY_ENV } from '../../stack/env';
import { LocalStack } from '../../stack/local-stack';

const { EventType } = temporal.api.enums.v1;
const LATENCY_MS = 1_500; // under CHARGE_TIMEOUT_MS (2 s): the charge succeeds, slowly

async function stubStats(stack: LocalStack): Promise<{ attempts: number; charges_applied: number }> {
  return (await (await fetch(`${stack.stubUrl}/stats`)).json()) as { attempts: number; charges_applied: number };
}

describe('worker shutdown grace', () => {
  it('is a bit more than the charge timeout unless configured, and never less', () => {
    expect(loadWorkerConfig({}).shutdown.graceMs).toBe(3_000);
    expect(loadWorkerConfig({ CHARGE_TIMEOUT_MS: '2500' }).shutdown.graceMs).toBe(3_500);
    expect(loadWorkerConfig({ WORKER_SHUTDOWN_GRACE_MS: '10000' }).shutdown.graceMs).toBe(10_000);
    expect(() => loadWorkerConfig({ WORKER_SHUTDOWN_GRACE_MS: '1000' })).toThrow(/WORKER_SHUTDOWN_GRACE_MS \(1000\) must exceed CHARGE_TIMEOUT_MS \(2000\)/);
    expect(() => loadWorkerConfig({ WORKER_SHUTDOWN_GRACE_MS: 'soon' })).toThrow(/WORKER_SHUTDOWN_GRACE_MS/);
  });
});

describe('a worker stopped with SIGTERM mid-charge', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start({
      config: loadStackConfig({ ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress') }),
      cli: inject('temporalCli'),
      parts: ['postgres', 'stub', 'worker', 'api'],
      tmpPrefix: 'checkout-drain-',
      taskQueue: `drain-${crypto.randomUUID()}`,
      env: { ...THROWAWAY_ENV, LATENCY_MS: String(LATENCY_MS), RATE_LIMIT_PER_MINUTE: '1000000' },
      serviceEnv: { worker: { LOG_LEVEL: 'info' } },
      workerReady: 'log-line',
      stdio: 'pipe',
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('finishes the charge, exits 0, and the checkout completes with no cancelled attempt', async () => {
    const key = `drain-${crypto.randomUUID()}`;
    // the stack's development merchant and key (stack/dev-api-key.ts)
    const dev = stack.devApiKey;
    if (!dev) throw new Error('the stack made no API key');
    const client = createCheckoutClient({ baseUrl: stack.apiUrl, apiKey: dev.key, maxAttempts: 30, totalTimeoutMs: 120_000, requestTimeoutMs: 10_000 });
    const checkout = client.checkout({ customer_id: 'c_drain', amount_cents: 4200, currency: 'USD', payment_method_id: 'pm_card_visa' }, { idempotencyKey: key });

    // the charge is at the provider (which answers after LATENCY_MS)
    const deadline = Date.now() + 30_000;
    while ((await stubStats(stack)).attempts < 1) {
      if (Date.now() > deadline) throw new Error('no charge reached the provider within 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const worker = stack.workers[0];
    if (!worker) throw new Error('no worker');
    const signalled = Date.now();
    worker.service.child.kill('SIGTERM');
    const code = await worker.service.exited;
    const drainMs = Date.now() - signalled;
    expect(code, worker.tail().slice(-3_000)).toBe(0);
    expect(drainMs).toBeLessThan(15_000);

    // a fresh worker takes over whatever is left of the checkout
    await stack.startWorker();
    const result = await checkout;
    expect(result.status).toBe('completed');

    const history = await (await stack.temporalClient()).workflow.getHandle(checkoutWorkflowId(dev.merchantId, key)).fetchHistory();
    const events = history.events ?? [];
    // a retried attempt shows only as a later ActivityTaskStarted with its attempt number and the last failure
    const retried = events
      .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)
      .map((e) => `attempt ${e.activityTaskStartedEventAttributes?.attempt} after: ${e.activityTaskStartedEventAttributes?.lastFailure?.message}`);
    expect(retried).toEqual([]);
    const failed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
    expect(failed.map((e) => e.activityTaskFailedEventAttributes?.failure?.message)).toEqual([]);
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED)).toEqual([]);
    const stats = await stubStats(stack);
    expect(stats).toMatchObject({ attempts: 1, charges_applied: 1 });
  }, 180_000);
});
