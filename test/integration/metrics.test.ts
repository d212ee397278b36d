// The metrics an on-call engineer reads, checked through the real stack: a
// checkout moves the side-effects counter and the attempts histogram once (and
// a re-run of its recording step does not), the pool and backlog gauges say
// what the database holds, and a scrape never hangs on the database or on the
// Temporal SDK's exporter.
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import client from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../api/checkout/schema';
import { createPool } from '../../db/pool';
import { insertPendingPayment } from '../../db/payments';
import type { CheckoutRequest } from '../../domain/checkout';
import { checkoutWorkflowId } from '../../domain/ids';
import { serveMetrics } from '../../metrics-server';
import { registerBacklogMetrics } from '../../worker/backlog-metrics';
import { checkoutActivitiesFor, paymentsProviderFor } from '../../worker/build';
import { createWorkerMetrics } from '../../worker/metrics';
import { checkoutBody, metricValue, postCheckout, startTestStack, testLogger, testWorkerConfig, uniqueKey, type TestStack } from '../support/stack';
import { testProtection } from '../support/protection';

let stack: TestStack;
const servers: http.Server[] = [];

beforeAll(async () => {
  stack = await startTestStack();
});

afterAll(async () => {
  for (const s of servers) s.close();
  await stack?.stop();
});

const CHARGED = 'payment_side_effects_applied_total{operation="charge",outcome="succeeded"}';
const DECLINED = 'payment_side_effects_applied_total{operation="charge",outcome="declined"}';

/** A registry on /metrics at a free port, as a process serves it. */
async function served(registry: client.Registry, sdkMetricsUrl?: string): Promise<{ metricsUrl: string }> {
  const server = await serveMetrics(registry, 0, '127.0.0.1', { sdkMetricsUrl });
  servers.push(server);
  return { metricsUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function scrape(target: { metricsUrl: string }): Promise<string> {
  return (await fetch(`${target.metricsUrl}/metrics`)).text();
}

/** A pending payment of the stack's merchant, created `ageSeconds` ago. */
async function pendingPayment(ageSeconds = 0): Promise<{ paymentId: string; workflowId: string; key: string; request: CheckoutRequest }> {
  const key = uniqueKey('metrics');
  const request: CheckoutRequest = { customer_id: 'cust_metrics', amount_cents: 1_234, currency: 'EUR', payment_method_id: 'pm_card_visa' };
  const workflowId = checkoutWorkflowId(stack.merchant.merchantId, key);
  const paymentId = `pay_${crypto.randomUUID().replace(/-/g, '')}`;
  await insertPendingPayment(stack.pool, { merchantId: stack.merchant.merchantId, paymentId, idempotencyKey: key, workflowId, fingerprint: fingerprintOf(request), request });
  if (ageSeconds > 0) await stack.pool.query(`UPDATE payments SET created_at = now() - $2 * interval '1 second' WHERE payment_id = $1`, [paymentId, ageSeconds]);
  return { paymentId, workflowId, key, request };
}

describe('side effects and charge attempts, through a checkout', () => {
  it('a charged checkout counts one charge and one first-attempt success; its replay counts nothing', async () => {
    const charged = () => metricValue(stack.worker, CHARGED);
    const attempts = () => metricValue(stack.worker, 'payment_charge_attempts_count{outcome="succeeded"}');
    const firstAttempts = () => metricValue(stack.worker, 'payment_charge_attempts_bucket{le="1",outcome="succeeded"}');
    const providerOk = () => metricValue(stack.worker, 'provider_request_duration_seconds_count{provider="payments",operation="charge",outcome="ok"}');
    const before = { charged: await charged(), attempts: await attempts(), first: await firstAttempts(), ok: await providerOk() };

    const key = uniqueKey('metrics-happy');
    expect((await postCheckout(stack.api, key, checkoutBody())).status).toBe(201);
    const replay = await postCheckout(stack.api, key, checkoutBody()); // no new effect
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    expect(await charged()).toBe(before.charged + 1);
    expect(await attempts()).toBe(before.attempts + 1);
    expect(await firstAttempts()).toBe(before.first + 1);
    expect(await providerOk()).toBe(before.ok + 1);
  });

  it('a declined card counts one declined charge at attempt 1', async () => {
    const before = {
      declined: await metricValue(stack.worker, DECLINED),
      attempts: await metricValue(stack.worker, 'payment_charge_attempts_count{outcome="declined"}'),
      provider: await metricValue(stack.worker, 'provider_request_duration_seconds_count{provider="payments",operation="charge",outcome="declined"}'),
    };
    const res = await postCheckout(stack.api, uniqueKey('metrics-declined'), checkoutBody({ payment_method_id: 'pm_declined' }));
    expect(res.status).toBe(402);
    expect(await metricValue(stack.worker, DECLINED)).toBe(before.declined + 1);
    expect(await metricValue(stack.worker, 'payment_charge_attempts_count{outcome="declined"}')).toBe(before.attempts + 1);
    expect(await metricValue(stack.worker, 'payment_charge_attempts_bucket{le="1",outcome="declined"}')).toBeGreaterThanOrEqual(1);
    expect(await metricValue(stack.worker, 'provider_request_duration_seconds_count{provider="payments",operation="charge",outcome="declined"}')).toBe(
      before.provider + 1,
    );
  });

  it('a recording step run twice (a re-run after a crash) counts its effect once', async () => {
    const metrics = createWorkerMetrics();
    const config = testWorkerConfig({ PAYMENTS_URL: stack.stub.url });
    const provider = paymentsProviderFor(config, metrics);
    const acts = checkoutActivitiesFor(config, { pool: stack.pool, logger: testLogger, provider, protection: testProtection(stack.pool), metrics: metrics.checkout });
    try {
      const completed = await pendingPayment();
      const env = new MockActivityEnvironment({ workflowExecution: { workflowId: completed.workflowId, runId: 'run' } });
      const payment = { payment_id: completed.paymentId, amount_cents: 1_234, currency: 'EUR' as const, created_at: new Date().toISOString(), provider_charge_id: 'ch_test' };
      for (let run = 0; run < 2; run += 1) await env.run(acts.recordCompletedPayment, { idempotencyKey: completed.key, outcome: 'completed' as const, payment });

      const declined = await pendingPayment();
      const env2 = new MockActivityEnvironment({ workflowExecution: { workflowId: declined.workflowId, runId: 'run' } });
      const facts = { payment_id: declined.paymentId, amount_cents: 1_234, currency: 'EUR' as const, created_at: new Date().toISOString() };
      for (let run = 0; run < 2; run += 1) {
        await env2.run(acts.recordFailedPayment, { idempotencyKey: declined.key, outcome: 'declined' as const, code: 'card_declined' as const, payment: facts });
      }

      const target = await served(metrics.registry);
      expect(await metricValue(target, CHARGED)).toBe(1);
      expect(await metricValue(target, DECLINED)).toBe(1);
    } finally {
      await provider.close();
    }
  });
});

describe('database pool and backlog gauges', () => {
  it("the api's pool: its size, connections in use and idle, and waiting clients", async () => {
    expect(await metricValue(stack.api, 'db_pool_max_connections')).toBe(5); // DATABASE_POOL_SIZE in testEnv
    const text = await scrape(stack.api);
    expect(text).toMatch(/^db_pool_connections\{state="in_use"\} \d+$/m);
    expect(text).toMatch(/^db_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^db_pool_waiting_clients \d+$/m);
  });

  it('pending payments by age and the oldest one, the outbox, deliveries and the retry budget, read at scrape time', async () => {
    const registry = new client.Registry();
    registerBacklogMetrics(registry, { pool: stack.pool, logger: testLogger, protection: stack.protection });
    const target = await served(registry);
    const tenMinutesOld = await pendingPayment(600);
    try {
      expect(await metricValue(target, 'payments_pending{age="5m_to_1h"}')).toBeGreaterThanOrEqual(1);
      expect(await metricValue(target, 'payments_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(600);
      const text = await scrape(target);
      for (const age of ['lt_1m', '1m_to_5m', '5m_to_1h', 'ge_1h']) expect(text).toMatch(new RegExp(`^payments_pending\\{age="${age}"\\} \\d+$`, 'm'));
      expect(text).toMatch(/^outbox_events_undispatched \d+$/m);
      expect(text).toMatch(/^outbox_oldest_undispatched_age_seconds [\d.e+-]+$/m);
      expect(text).toMatch(/^webhook_deliveries\{state="pending"\} \d+$/m);
      expect(text).toMatch(/^webhook_deliveries\{state="dead"\} \d+$/m);
      expect(text).toMatch(/^webhook_oldest_pending_delivery_age_seconds [\d.e+-]+$/m);
      expect(text).toMatch(new RegExp(`^provider_retry_budget_used_ratio\\{provider="${stack.protection.provider}"\\} [\\d.]+$`, 'm'));
      expect(await metricValue(target, 'backlog_metrics_errors_total')).toBe(0);
    } finally {
      await stack.pool.query('DELETE FROM payments WHERE payment_id = $1', [tenMinutesOld.paymentId]);
    }
  });

  it('a database that does not answer: the scrape still answers within its bound, the gauges keep their last values, the error is counted', async () => {
    const pool = createPool(testWorkerConfig().database.url, 1);
    const registry = new client.Registry();
    registerBacklogMetrics(registry, { pool, logger: testLogger, timeoutMs: 500 });
    const target = await served(registry);
    const first = await metricValue(target, 'payments_oldest_pending_age_seconds');
    // the pool's one connection held: the next read cannot connect
    const held = await pool.connect();
    try {
      await new Promise((r) => setTimeout(r, 1_100)); // past the shared read's reuse
      const started = Date.now();
      const text = await scrape(target);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(text).toMatch(/^backlog_metrics_errors_total 1$/m);
      expect(text).toContain(`payments_oldest_pending_age_seconds ${first}`);
    } finally {
      held.release();
      await pool.end();
    }
  });
});

describe("the Temporal SDK's metrics on the same /metrics", () => {
  async function sdkExporter(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  }

  it("appends the SDK exporter's text to ours", async () => {
    const url = await sdkExporter((_req, res) => res.end('# TYPE temporal_sticky_cache_size gauge\ntemporal_sticky_cache_size{service_name="temporal-core-sdk"} 3\n'));
    const target = await served(createWorkerMetrics().registry, url);
    const text = await scrape(target);
    expect(text).toContain('temporal_sticky_cache_size{service_name="temporal-core-sdk"} 3');
    expect(text).toMatch(/^sdk_metrics_fetch_errors_total 0$/m);
  });

  it('an exporter that hangs: ours alone within about a second, the failure counted', async () => {
    const url = await sdkExporter(() => undefined); // never answers
    const target = await served(createWorkerMetrics().registry, url);
    const started = Date.now();
    const text = await scrape(target);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(text).not.toContain('temporal_');
    expect(text).toMatch(/^sdk_metrics_fetch_errors_total 1$/m);
    expect(text).toContain('# TYPE payment_side_effects_applied_total counter');
  });
});
