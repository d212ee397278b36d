// Every metric the alert rules (deploy/alert-rules.yml) and the Grafana
// dashboards (deploy/grafana/dashboards/) use is exported by the running
// processes, scraped as Prometheus scrapes them (deploy/prometheus.yml):
// the api and the worker started as their own processes (api/main.ts,
// worker/main.ts, the same wiring as `npm start` and docker-compose), on this
// run's Temporal dev server and Postgres, with a payments stub of this file.
// A used name counts as exported when either process lists its family
// (# HELP / # TYPE, even with no sample yet); a histogram's _bucket, _sum and
// _count belong to its family. The rules' and panels' label matchers must
// name labels the family's samples carry.
//
// The checkouts it drives make the Temporal SDK record what it only exports
// once it happened: one plain checkout, and one whose first charge attempt
// meets a 503, so the charge runs again as a regular activity (activity
// schedule-to-start latency, charge attempts above 1).
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../../db/pool';
import { startStub, type RunningStub } from '../../payments-stub/server';
import { spawnService, waitForHttp, type ServiceProcess } from '../../stack/service-process';
import { createTestMerchant } from '../support/merchants';
import {
  dashboardExpressions,
  familyOf,
  metricNamesOf,
  parseExposition,
  REPO_ROOT,
  ruleExpressions,
  SCRAPE_SERIES,
  selectorsOf,
  withGrafanaVariables,
  type Exported,
  type Expression,
} from '../support/observability-config';
import { freePort } from '../../stack/free-port';
import { checkoutBody, postCheckout, postCheckoutUntilFinal, testEnv, testLogger, uniqueKey } from '../support/stack';

/** Labels Prometheus adds to every scraped series (deploy/prometheus.yml's jobs), which no process exports. */
const TARGET_LABELS = new Set(['job', 'instance']);

async function scrape(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

/** The used metric names no process exports, each with the rules and panels that use it. */
function missingMetrics(expressions: Expression[], exported: Exported): string[] {
  const users = new Map<string, string[]>();
  for (const e of expressions) {
    for (const name of metricNamesOf(withGrafanaVariables(e.expr))) {
      if (SCRAPE_SERIES.has(name) || familyOf(name, exported)) continue;
      users.set(name, [...(users.get(name) ?? []), e.where]);
    }
  }
  return [...users].map(([name, where]) => `${name}, used by ${where.join('; ')}`);
}

describe('the metrics deploy/ uses are exported by the running api and worker', () => {
  const taskQueue = `observability-${crypto.randomUUID()}`;
  const scheduleId = `reconciliation-${taskQueue}`;
  const services: ServiceProcess[] = [];
  let bundleDir: string | undefined;
  let stub: RunningStub | undefined;
  let pool: Pool | undefined;
  let apiUrl = '';
  let metricsUrls: Record<'api' | 'worker', string> = { api: '', worker: '' };
  let apiKey = '';

  /** Both processes' /metrics, one exposition as Prometheus would hold them under their jobs. */
  const scrapeBoth = async (): Promise<{ exported: Exported; text: Record<string, string> }> => {
    const text = { api: await scrape(metricsUrls.api), worker: await scrape(metricsUrls.worker) };
    return { exported: parseExposition(text.worker, parseExposition(text.api)), text };
  };

  beforeAll(async () => {
    pool = createPool(inject('databaseUrl'), 2);
    stub = await startStub({ port: 0, latencyMs: 0, faultMode: 'ok', logger: testLogger });
    apiKey = (await createTestMerchant(pool, 'observability metrics')).apiKey;
    // one bundle for both processes, so neither bundles at start
    bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-bundle-'));
    const bundle = path.join(bundleDir, 'workflow-bundle.js');
    // the bundler the worker process runs (worker/workflow-bundle.ts), under tsx as `npm start` runs it
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'worker', 'bundle-workflows.ts'), bundle], { cwd: REPO_ROOT, timeout: 120_000 });
    const [apiPort, apiMetricsPort, workerMetricsPort] = [await freePort(), await freePort(), await freePort()];
    const env = {
      ...process.env,
      ...testEnv({
        TEMPORAL_TASK_QUEUE: taskQueue,
        PAYMENTS_URL: stub.url,
        PORT: String(apiPort),
        API_METRICS_PORT: String(apiMetricsPort),
        WORKER_METRICS_PORT: String(workerMetricsPort),
        WORKER_WORKFLOW_BUNDLE: bundle,
        // a Schedule of this file's own, not the one other tests share; it never ticks while this file runs
        RECONCILIATION_SCHEDULE_ID: scheduleId,
        LOG_LEVEL: process.env.OBSERVABILITY_TEST_LOG_LEVEL ?? 'warn',
      }),
    };
    metricsUrls = { api: `http://127.0.0.1:${apiMetricsPort}/metrics`, worker: `http://127.0.0.1:${workerMetricsPort}/metrics` };
    apiUrl = `http://127.0.0.1:${apiPort}`;
    const worker = spawnService('worker', 'worker/main.ts', env, 'pipe');
    services.push(worker);
    const api = spawnService('api', 'api/main.ts', env, 'pipe');
    services.push(api);
    await Promise.all([waitForHttp(metricsUrls.worker, worker, 120_000), waitForHttp(`${apiUrl}/readyz`, api, 120_000)]);

    await driveCheckouts().catch((err: unknown) => {
      const tails = services.map((p) => `--- ${p.name} (exit ${p.child.exitCode ?? p.child.signalCode ?? 'running'}):\n${p.tail().slice(-4_000)}`).join('\n');
      throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
    });
  }, 240_000);

  /** The checkouts that make the processes record what the rules and panels read. */
  async function driveCheckouts(): Promise<void> {
    if (!stub) throw new Error('no stub');
    const target = { url: apiUrl, apiKey };
    // a plain checkout: the one-task happy path on the api's hosted worker
    const plain = await postCheckoutUntilFinal(target, uniqueKey('observability-plain'), checkoutBody());
    expect(plain.status, `a plain checkout answered ${plain.status}: ${JSON.stringify(plain.body)}`).toBe(201);
    // a first charge attempt that meets a 503: the charge runs again as a regular activity
    await fetch(`${stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'unavailable', fail_rate: null }) });
    const key = uniqueKey('observability-retried');
    const first = await postCheckout(target, key, checkoutBody());
    await fetch(`${stub.url}/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mode: 'ok' }) });
    const retried = await postCheckoutUntilFinal(target, key, checkoutBody());
    // 201, or 200 replaying it when the first answer was a 202
    expect(retried.body?.status, `the checkout whose first attempt met a 503 answered ${first.status}, then ${retried.status}: ${JSON.stringify(retried.body)}`).toBe('completed');
  }

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    const connection = await Connection.connect({ address: inject('temporalAddress') }).catch(() => undefined);
    if (connection) {
      await new Client({ connection })
        .schedule.getHandle(scheduleId)
        .delete()
        .catch(() => undefined);
      await connection.close();
    }
    await stub?.close();
    await pool?.end();
    if (bundleDir) fs.rmSync(bundleDir, { recursive: true, force: true });
  }, 60_000);

  it('every metric an alert rule uses is exported by the api or the worker', async () => {
    // the SDK exports a latency once a task was timed: give the retried charge's activity a few scrapes
    let missing: string[] = [];
    for (let tries = 0; tries < 20; tries++) {
      missing = missingMetrics(ruleExpressions(), (await scrapeBoth()).exported);
      if (missing.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(missing, `deploy/alert-rules.yml uses metrics neither ${metricsUrls.api} (api) nor ${metricsUrls.worker} (worker) exports`).toEqual([]);
  });

  it('every metric a dashboard panel uses is exported by the api or the worker', async () => {
    let missing: string[] = [];
    for (let tries = 0; tries < 20; tries++) {
      missing = missingMetrics(dashboardExpressions(), (await scrapeBoth()).exported);
      if (missing.length === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(missing, `deploy/grafana/dashboards/ uses metrics neither ${metricsUrls.api} (api) nor ${metricsUrls.worker} (worker) exports`).toEqual([]);
  });

  it('every label a rule or panel matches on is a label of the samples of its metric', async () => {
    const { exported } = await scrapeBoth();
    const wrong: string[] = [];
    for (const e of [...ruleExpressions(), ...dashboardExpressions()]) {
      for (const { metric, labels } of selectorsOf(withGrafanaVariables(e.expr))) {
        const seen = exported.samples.get(metric);
        if (!seen || SCRAPE_SERIES.has(metric)) continue; // no sample yet: nothing to compare with
        for (const label of labels) {
          if (!seen.has(label) && !TARGET_LABELS.has(label)) wrong.push(`${metric}{${label}=...} in ${e.where}: its samples carry ${[...seen].join(', ') || 'no labels'}`);
        }
      }
    }
    expect(wrong, 'label matchers naming labels the metric does not have (they would match nothing)').toEqual([]);
  });

  it('the series the checkout alerts select by value exist after checkouts: POST /checkout latency and completed outcomes', async () => {
    const { text } = await scrapeBoth();
    expect(text.api, 'http_request_duration_seconds has no series {method="POST",route="/checkout"}: CheckoutLatencyP99OverBudget selects it').toMatch(
      /^http_request_duration_seconds_bucket\{[^}]*(?=[^}]*method="POST")(?=[^}]*route="\/checkout")[^}]*\}/m,
    );
    expect(text.api, 'checkout_outcomes_total has no series {outcome="completed"}').toMatch(/^checkout_outcomes_total\{[^}]*outcome="completed"[^}]*\} [1-9]/m);
    const charges = `${text.api}\n${text.worker}`.match(/^payment_side_effects_applied_total\{[^}]*operation="charge"[^}]*outcome="succeeded"[^}]*\} (\d+)/gm) ?? [];
    expect(charges, 'payment_side_effects_applied_total{operation="charge",outcome="succeeded"} has no sample after two completed checkouts').not.toHaveLength(0);
  });
});
