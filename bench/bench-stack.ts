// Every process the benchmark measures, started fresh in a throwaway
// directory: Temporal dev server, embedded Postgres, payments-stub (latency 0),
// worker, api, and the plain handler against the same stub and Postgres.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../config';
import { localStackEnv } from '../scripts/stack-env';
import { spawnService, waitForHttp, waitForPostgres, type ServiceProcess } from '../scripts/service-process';
import { startTemporalDevServer, type RunningDevServer } from '../scripts/temporal-dev-server';
import { ensureTemporalCli } from '../scripts/toolchain';
import { freePort } from '../scripts/free-port';

export interface BenchStackOptions {
  /** environment for every service on top of the bench's own (a variant's settings) */
  env?: Record<string, string>;
  /** the dev server's state in memory rather than in a SQLite file */
  temporalInMemory?: boolean;
  /** the dev server's SQLite pragmas (NAME=VALUE) */
  sqlitePragmas?: string[];
  /** the dev server's dynamic config, over DEV_SERVER_DYNAMIC_CONFIG */
  dynamicConfig?: Record<string, string | number | boolean>;
  /** node flags for our services; omitted: SERVICE_NODE_FLAGS */
  nodeFlags?: string[];
  log: (line: string) => void;
}

/** A process we started, with the tail of its output for when it fails. */
export interface BenchPart {
  service: ServiceProcess;
  tail(): string;
}

export class BenchStack {
  /** every stack started and not yet stopped, so Ctrl-C can stop one still booting */
  static readonly running = new Set<BenchStack>();
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'checkout-bench-'));
  readonly env: NodeJS.ProcessEnv = {};
  apiUrl = '';
  plainUrl = '';
  /** ms from spawning the worker to its first workflow poller on the task queue */
  workerStartMs = 0;
  client!: Client;
  private connection?: Connection;
  private temporal?: RunningDevServer;
  private parts: Record<string, BenchPart> = {};

  private constructor(private readonly options: BenchStackOptions) {
    // as root, Postgres runs as the postgres user, who must reach its data directory
    fs.chmodSync(this.dir, 0o755);
    BenchStack.running.add(this);
  }

  static async start(options: BenchStackOptions): Promise<BenchStack> {
    const stack = new BenchStack(options);
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  pid(part: 'api' | 'worker' | 'plain' | 'postgres' | 'payments-stub' | 'temporal'): number | undefined {
    if (part === 'temporal') return this.temporal?.process.pid;
    return this.parts[part === 'payments-stub' ? 'stub' : part]?.service.child.pid;
  }

  private async boot(): Promise<void> {
    const log = this.options.log;
    const cli = await ensureTemporalCli(loadConfig().tools, log);
    log(`bench stack in ${this.dir}`);
    // Temporal first, our other ports after (startTemporalDevServer says why)
    this.temporal = await startTemporalDevServer({
      cli,
      namespace: 'default',
      dbFile: this.options.temporalInMemory ? undefined : path.join(this.dir, 'temporal.db'),
      sqlitePragmas: this.options.sqlitePragmas,
      dynamicConfig: this.options.dynamicConfig,
    });
    const ports = { temporal: this.temporal.port, pg: await freePort(), stub: await freePort(), api: await freePort(), plain: await freePort() };
    this.apiUrl = `http://127.0.0.1:${ports.api}`;
    this.plainUrl = `http://127.0.0.1:${ports.plain}`;
    const stubUrl = `http://127.0.0.1:${ports.stub}`;
    // warnings only: the bench measures the checkout path, not log shipping
    Object.assign(this.env, process.env, localStackEnv(this.dir, ports, `bench-${crypto.randomUUID()}`), {
      // the provider answers at once (issue 7: stub latency 0), no faults
      LATENCY_MS: '0',
      FAULT_MODE: 'ok',
      // Raised on purpose: the per-customer rate (default 10/min) would be what
      // we measure otherwise. The limiter's query still runs on every checkout.
      RATE_LIMIT_PER_MINUTE: '1000000',
      ...this.options.env,
    });

    this.connection = await Connection.connect({ address: this.env.TEMPORAL_ADDRESS as string });
    this.client = new Client({ connection: this.connection, namespace: 'default' });
    this.parts.postgres = this.spawn('postgres', 'scripts/start-postgres.ts', {});
    await waitForPostgres(this.env.DATABASE_URL as string, this.parts.postgres.service);
    this.parts.stub = this.spawn('payments-stub', 'payments-stub/main.ts', {});
    await waitForHttp(`${stubUrl}/healthz`, this.parts.stub.service);
    const workerSpawned = Date.now();
    this.parts.worker = this.spawn('worker', 'worker/main.ts', {});
    await this.waitForWorkerPoller(this.parts.worker);
    this.workerStartMs = Date.now() - workerSpawned;
    this.parts.api = this.spawn('api', 'api/main.ts', {});
    await waitForHttp(`${this.apiUrl}/readyz`, this.parts.api.service, 120_000);
    this.parts.plain = this.spawn('plain', 'bench/plain-main.ts', { PORT: String(ports.plain) });
    await waitForHttp(`${this.plainUrl}/healthz`, this.parts.plain.service);
    log(`up: api ${this.apiUrl}, plain ${this.plainUrl}, stub ${stubUrl}, Temporal ${this.env.TEMPORAL_ADDRESS} (worker ready in ${this.workerStartMs} ms)`);
  }

  /** The worker logs only warnings here, so readiness is its poller as the server sees it. */
  private async waitForWorkerPoller(worker: BenchPart): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (worker.service.child.exitCode !== null || worker.service.child.signalCode !== null) {
        throw new Error(`worker exited before polling:\n${worker.tail()}`);
      }
      const described = await this.client.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: this.env.TEMPORAL_TASK_QUEUE as string, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((described.pollers ?? []).length > 0) return;
      if (Date.now() > deadline) throw new Error('worker did not poll within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Waits until no checkout workflow is running (those answered 202 go on in
   * the background and would load the next step), at most timeoutMs.
   */
  async drained(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { count } = await this.client.workflow.count('ExecutionStatus = "Running" AND WorkflowType = "checkout"');
      if (count === 0) return;
      this.options.log(`  waiting for ${count} checkout workflow(s) still running ...`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /** The tail of every part's output, for a failure report. */
  tails(): string {
    return Object.entries(this.parts)
      .map(([name, part]) => `--- ${name} ---\n${part.tail().slice(-2_000)}`)
      .join('\n');
  }

  async stop(): Promise<void> {
    BenchStack.running.delete(this);
    await this.connection?.close().catch(() => undefined);
    const { postgres, ...rest } = this.parts;
    await Promise.all(Object.values(rest).map((p) => p.service.stop()));
    await this.temporal?.stop().catch(() => undefined);
    await postgres?.service.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(name: string, entry: string, extraEnv: Record<string, string>): BenchPart {
    const service = spawnService(name, entry, { ...this.env, ...extraEnv }, 'pipe', this.options.nodeFlags);
    return { service, tail: service.tail };
  }
}
