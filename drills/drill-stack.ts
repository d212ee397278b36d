// The whole stack as separate processes, in a throwaway directory, so a drill
// can SIGKILL a worker or restart Temporal or Postgres on the same state.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { createPool, type Pool } from '../db/pool';
import { localStackEnv } from '../scripts/stack-env';
import { spawnService, waitForHttp, waitForPostgres, type ServiceProcess } from '../scripts/service-process';
import { startTemporalDevServer, type RunningDevServer } from '../scripts/temporal-dev-server';
import { ensureTemporalCli } from '../scripts/toolchain';
import { freePort } from '../scripts/free-port';

export interface DrillStackOptions {
  /** Extra environment for every service (e.g. stub faults at start, breaker settings). */
  env?: Record<string, string>;
  workerEnv?: Record<string, string>;
  workers?: number;
  log: (line: string) => void;
}

/** A service we started, with the tail of its output for diagnostics. */
export interface Part {
  service: ServiceProcess;
  tail(): string;
}

export class DrillStack {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  apiUrl = '';
  stubUrl = '';
  temporal!: RunningDevServer;
  postgres!: Part;
  stub!: Part;
  api!: Part;
  workers: Part[] = [];
  pool!: Pool;
  client!: Client;
  private connection?: Connection;
  private cli = '';
  private ports = { temporal: 0, pg: 0, stub: 0, api: 0 };

  private constructor(private readonly options: DrillStackOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-drill-'));
    // as root, Postgres runs as the postgres user, who must reach its data directory
    fs.chmodSync(this.dir, 0o755);
    this.env = {};
  }

  static async start(options: DrillStackOptions): Promise<DrillStack> {
    const stack = new DrillStack(options);
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
    this.cli = await ensureTemporalCli(loadConfig().tools, log);
    log(`drill stack in ${this.dir}`);
    // Temporal first, our other ports after (startTemporalDevServer says why)
    await this.startTemporal();
    this.ports = { temporal: this.temporal.port, pg: await freePort(), stub: await freePort(), api: await freePort() };
    this.stubUrl = `http://127.0.0.1:${this.ports.stub}`;
    this.apiUrl = `http://127.0.0.1:${this.ports.api}`;
    Object.assign(this.env, process.env, localStackEnv(this.dir, this.ports, `drill-${crypto.randomUUID()}`), {
      // drills drive load from a few customers; the rate limit is not under test
      RATE_LIMIT_PER_MINUTE: '100000000',
      MAX_IN_FLIGHT_CHECKOUTS: '100000',
      ...this.options.env,
    });

    await this.startPostgres();
    this.pool = createPool(this.env.DATABASE_URL as string, 4);
    this.stub = this.spawn('payments-stub', 'payments-stub/main.ts', {});
    await waitForHttp(`${this.stubUrl}/healthz`, this.stub.service);
    for (let i = 0; i < (this.options.workers ?? 1); i += 1) await this.startWorker();
    this.api = this.spawn('api', 'api/main.ts', {});
    await waitForHttp(`${this.apiUrl}/readyz`, this.api.service, 120_000);
    this.connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS as string });
    this.client = new Client({ connection: this.connection, namespace: 'default' });
    log(`up: api ${this.apiUrl}, stub ${this.stubUrl}, Temporal ${this.env.TEMPORAL_ADDRESS}, ${this.workers.length} worker(s)`);
  }

  /** Starts the dev server: on a free port the first time, on the same port (and file) after a stop. */
  async startTemporal(): Promise<void> {
    this.temporal = await startTemporalDevServer({
      cli: this.cli,
      port: this.temporal?.port,
      namespace: 'default',
      dbFile: path.join(this.dir, 'temporal.db'),
    });
  }

  async startPostgres(): Promise<void> {
    this.postgres = this.spawn('postgres', 'scripts/start-postgres.ts', {});
    await waitForPostgres(this.env.DATABASE_URL as string, this.postgres.service);
  }

  /** Starts one more worker and waits until it reports started. */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<Part> {
    const worker = this.spawn('worker', 'worker/main.ts', { LOG_LEVEL: 'info', ...this.options.workerEnv, ...extraEnv });
    this.workers.push(worker);
    const deadline = Date.now() + 120_000;
    while (!worker.tail().includes('"msg":"worker started"')) {
      if (worker.service.child.exitCode !== null || worker.service.child.signalCode !== null) {
        throw new Error(`worker exited before starting:\n${worker.tail()}`);
      }
      if (Date.now() > deadline) throw new Error('worker did not start within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    return worker;
  }

  /** SIGKILLs every running worker (a crash, not a shutdown). */
  async killWorkers(): Promise<number> {
    const running = this.workers.filter((w) => w.service.child.exitCode === null && w.service.child.signalCode === null);
    for (const w of running) w.service.child.kill('SIGKILL');
    await Promise.all(running.map((w) => w.service.exited));
    this.workers = this.workers.filter((w) => !running.includes(w));
    return running.length;
  }

  async setFaults(faults: Record<string, unknown>): Promise<void> {
    const res = await fetch(`${this.stubUrl}/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    if (!res.ok) throw new Error(`PUT /faults answered ${res.status}`);
  }

  async stubStats(): Promise<{ attempts: number; charges_applied: number; replays: number; faults_injected: number }> {
    return (await (await fetch(`${this.stubUrl}/stats`)).json()) as { attempts: number; charges_applied: number; replays: number; faults_injected: number };
  }

  /** Waits until no checkout workflow runs and no payment is pending, or the timeout passes. */
  async waitUntilSettled(timeoutMs: number, progress?: (open: number, pending: number) => void): Promise<number> {
    const started = Date.now();
    let lastReport = 0;
    for (;;) {
      const open = (await this.client.workflow.count('ExecutionStatus = "Running" AND WorkflowType = "checkout"')).count;
      const pending = Number((await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payments WHERE status = 'pending'`)).rows[0]?.n);
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
    await this.connection?.close().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
    const parts = [this.api, ...this.workers, this.stub].filter(Boolean);
    await Promise.all(parts.map((p) => p.service.stop()));
    await this.temporal?.stop().catch(() => undefined);
    await this.postgres?.service.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  spawn(name: string, entry: string, extraEnv: Record<string, string>): Part {
    const service = spawnService(name, entry, { ...this.env, ...extraEnv }, 'pipe');
    return { service, tail: service.tail };
  }
}

