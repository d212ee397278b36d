// The whole stack as separate processes, in a throwaway directory, so a drill
// can SIGKILL a worker or restart Temporal or Postgres on the same state: a
// LocalStack on free ports, plus what drills read (a pool, a client, the stub).
// Topology 'dev' is npm start's (the dev server, one api); 'cluster' is npm run
// start:cluster's (Temporal's server on Postgres, two apis, two workers).
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { issueApiKey } from '../accounts/issue-key';
import { pepperOf } from '../accounts/pepper';
import { loadApiKeyConfig, loadStackConfig } from '../config';
import { createPool, type Pool } from '../db/pool';
import type { StubStats } from '../payments-stub/routes/stats';
import { THROWAWAY_ENV } from '../stack/env';
import { connectTemporalClient } from '../temporal/client';
import { runningCheckouts } from './invariants';
import { drillWorkflowBundle } from './workflow-bundle';
import { ClusterStack, freeClusterPorts, type ClusterPorts } from '../stack/cluster-stack';
import { LocalStack, type RunningTemporal, type StackPart } from '../stack/local-stack';

export type Topology = 'dev' | 'cluster';
export const TOPOLOGIES: readonly Topology[] = ['dev', 'cluster'];

export interface DrillStackOptions {
  /** Extra environment for every service (e.g. stub faults at start, breaker settings). */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Extra environment for the api (also for one started again with startApi). */
  apiEnv?: Record<string, string>;
  /** workers at start: 1 on 'dev', 2 on 'cluster' */
  workers?: number;
  /** default 'dev' */
  topology?: Topology;
  log: (line: string) => void;
}

/** A service we started, with the tail of its output for diagnostics. */
export type Part = StackPart;

export class DrillStack {
  pool!: Pool;
  client!: Client;
  private readonly local: LocalStack;
  /** set on topology 'cluster' */
  readonly cluster?: ClusterStack;

  private constructor(
    private readonly options: DrillStackOptions,
    workflowBundle: string,
    clusterPorts?: ClusterPorts,
  ) {
    const shared = {
      namespace: 'default',
      taskQueue: `drill-${crypto.randomUUID()}`,
      env: {
        ...THROWAWAY_ENV,
        // drills drive load from a few customers; the rate limit is not under test
        RATE_LIMIT_PER_MINUTE: '100000000',
        MAX_IN_FLIGHT_CHECKOUTS: '100000',
        // one key drives every checkout of a drill
        KEY_RATE_LIMIT_PER_MINUTE: '100000000',
        WORKER_WORKFLOW_BUNDLE: workflowBundle,
        ...options.env,
      },
      // the worker's "worker started" line is its readiness
      serviceEnv: { worker: { LOG_LEVEL: 'info', ...options.workerEnv }, api: { ...options.apiEnv } },
      workerReady: 'log-line' as const,
      stdio: 'pipe' as const,
      log: options.log,
    };
    if (clusterPorts) {
      this.cluster = new ClusterStack({ ...shared, ports: clusterPorts, tmpPrefix: 'checkout-drill-cluster-', workers: options.workers ?? 2 });
      this.local = this.cluster.local;
    } else {
      this.local = new LocalStack({ ...shared, tmpPrefix: 'checkout-drill-', workers: options.workers ?? 1 });
    }
  }

  static async start(options: DrillStackOptions): Promise<DrillStack> {
    const clusterPorts = options.topology === 'cluster' ? await freeClusterPorts() : undefined;
    const stack = new DrillStack(options, await drillWorkflowBundle(), clusterPorts);
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  private async boot(): Promise<void> {
    const log = this.options.log;
    log(`drill stack (topology ${this.options.topology ?? 'dev'}) in ${this.dir}`);
    await (this.cluster ? this.cluster.boot() : this.local.boot());
    this.pool = createPool(this.local.databaseUrl, 4);
    // as the stack's processes connect: its DATA_DIR's payload keys, so the drill reads what they wrote
    this.client = await connectTemporalClient(loadStackConfig(this.local.env).temporal);
    log(`up: api ${this.apiUrls.join(' and ')}, stub ${this.stubUrl}, Temporal ${this.local.temporalAddress}, ${this.workers.length} worker(s)`);
  }

  get dir(): string {
    return this.local.dir;
  }

  /** The (first) api. */
  get apiUrl(): string {
    return this.local.apiUrl;
  }

  /** Every api: one on 'dev', both on 'cluster'. */
  get apiUrls(): string[] {
    return this.cluster ? [...this.cluster.apiUrls] : [this.local.apiUrl];
  }

  /** Every api's and worker's /metrics this stack knows the port of (the cluster's; on 'dev', ports the drill set in env). */
  get metricsUrls(): Array<{ process: string; url: string }> {
    const url = (port: number) => `http://127.0.0.1:${port}/metrics`;
    if (this.cluster) {
      const { apiMetrics, workerMetrics } = this.cluster.ports;
      return [
        ...apiMetrics.map((p, i) => ({ process: `api ${i + 1}`, url: url(p) })),
        ...workerMetrics.slice(0, this.workers.length).map((p, i) => ({ process: `worker ${i + 1}`, url: url(p) })),
      ];
    }
    const ports = { api: Number(this.options.env?.API_METRICS_PORT ?? 0), worker: Number(this.options.env?.WORKER_METRICS_PORT ?? 0) };
    return Object.entries(ports)
      .filter(([, port]) => port > 0)
      .map(([process, port]) => ({ process, url: url(port) }));
  }

  /** The application's Postgres URL (its role), as the api and workers get it. */
  get databaseUrl(): string {
    return this.local.databaseUrl;
  }

  get stubUrl(): string {
    return this.local.stubUrl;
  }

  /** The development merchant's secret key (stack/dev-api-key.ts), for every call to the api. */
  get apiKey(): string {
    return mustHave(this.local.apiKey, "the api's key");
  }

  /** The merchant the drill's checkouts belong to. */
  get merchantId(): string {
    return mustHave(this.local.devApiKey, "the api's key").merchantId;
  }

  /** A new admin key, for the operator routes (GET /reconciliation/runs), under the pepper the api uses. */
  async adminApiKey(): Promise<string> {
    const config = loadApiKeyConfig(this.local.env);
    const { key } = await issueApiKey(this.pool, { merchantId: null, kind: 'admin', env: config.keyEnv, pepper: pepperOf(config), label: 'drill' });
    return key;
  }

  /** Authorization with the stack's key, for a hand-made request. */
  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}` };
  }

  get temporal(): RunningTemporal {
    return mustHave(this.local.temporal, 'Temporal');
  }

  get postgres(): Part {
    return mustHave(this.local.postgres, 'Postgres');
  }

  /** The api; a drill that starts another one (spawn) assigns it here, and stop() stops that one. */
  get api(): Part {
    return mustHave(this.local.api, 'the api');
  }

  set api(part: Part) {
    this.local.api = part;
  }

  get workers(): Part[] {
    return this.local.workers;
  }

  set workers(parts: Part[]) {
    this.local.workers = parts;
  }

  /** Starts the dev server: on a free port the first time, on the same port (and file) after a stop. */
  async startTemporal(): Promise<void> {
    await this.local.startTemporal();
  }

  async startPostgres(): Promise<void> {
    await this.local.startPostgres();
  }

  /** Starts one more worker and waits until it reports started. */
  startWorker(extraEnv: Record<string, string> = {}): Promise<Part> {
    return this.local.startWorker(extraEnv);
  }

  /** SIGKILLs every running worker (a crash, not a shutdown). */
  killWorkers(): Promise<number> {
    return this.local.killWorkers();
  }

  /** SIGKILLs one worker (a crash) and drops it from the stack's workers. */
  async killWorker(worker: Part): Promise<void> {
    worker.service.child.kill('SIGKILL');
    await worker.service.exited;
    this.local.workers = this.local.workers.filter((w) => w !== worker);
  }

  /**
   * Stops one worker with a signal (SIGTERM: a deploy's stop) and waits for it
   * to exit, however long its drain takes (bounded by the stack's stop timeout);
   * it leaves the stack's workers. How it ended and how long it took.
   */
  async stopWorker(worker: Part, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const t = Date.now();
    await worker.service.stop(signal);
    this.local.workers = this.local.workers.filter((w) => w !== worker);
    return { code: worker.service.child.exitCode, signal: worker.service.child.signalCode, ms: Date.now() - t };
  }

  /** A deploy of the api: SIGTERM (it finishes the requests it holds), then a fresh one on the same port, ready. */
  async restartApi(): Promise<{ code: number | null; stopMs: number; startMs: number }> {
    const old = this.api;
    const t = Date.now();
    await old.service.stop('SIGTERM');
    const stopMs = Date.now() - t;
    await this.local.startApi();
    return { code: old.service.child.exitCode, stopMs, startMs: Date.now() - t - stopMs };
  }

  /**
   * A new api on the stack's port (the last one must be gone: SIGKILLed, or
   * dead on its own), ready; extraEnv over the stack's api environment. It
   * becomes the stack's api at once, so an api that dies before it is ready is
   * still `api` when this throws.
   */
  startApi(extraEnv: Record<string, string> = {}): Promise<Part> {
    return this.local.startApi(extraEnv);
  }

  async setFaults(faults: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.stubUrl}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    if (!res.ok) throw new Error(`PUT /faults answered ${res.status}`);
  }

  /** The shared provider breaker's state ('closed' before its row exists). */
  async providerBreakerState(): Promise<string> {
    const row = (await this.pool.query<{ state: string }>(`SELECT state FROM provider_breakers WHERE provider = 'payments'`)).rows[0];
    return row?.state ?? 'closed';
  }

  async stubStats(): Promise<StubStats> {
    return (await (await fetch(`${this.stubUrl}/stats`, { signal: AbortSignal.timeout(5_000) })).json()) as StubStats;
  }

  /** Waits until no checkout workflow runs and no payment is pending, or the timeout passes. */
  async waitUntilSettled(timeoutMs: number, progress?: (open: number, pending: number) => void): Promise<number> {
    const started = Date.now();
    let lastReport = 0;
    for (;;) {
      const listed = (await this.client.workflow.count('ExecutionStatus = "Running" AND WorkflowType = "checkout"')).count;
      const pending = Number((await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`)).rows[0]?.n);
      // the last few listed as running are confirmed one by one: visibility may list a closed one for good
      const open = listed > 0 && listed <= 20 && pending === 0 ? (await runningCheckouts(this.client)).length : listed;
      if (open === 0 && pending === 0) return Date.now() - started;
      if (Date.now() - lastReport > 5_000) {
        progress?.(open, pending);
        lastReport = Date.now();
      }
      if (Date.now() - started > timeoutMs) return -1;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  async stop(): Promise<void> {
    await this.pool?.end().catch(() => undefined);
    await this.client?.connection.close().catch(() => undefined);
    await (this.cluster ? this.cluster.stop() : this.local.stop());
  }

  /** A service on the stack's environment, not tracked: the caller keeps it (e.g. as the new api). */
  spawn(name: string, entry: string, extraEnv: Record<string, string>): Part {
    return this.local.spawn(name, entry, extraEnv);
  }
}

function mustHave<T>(part: T | undefined, what: string): T {
  if (part === undefined) throw new Error(`${what} has not started`);
  return part;
}
