// Every process the benchmark measures, started fresh in a throwaway
// directory: Temporal dev server, embedded Postgres, payments-stub (latency 0),
// worker, api (a LocalStack on free ports), and the plain handler against the
// same stub and Postgres.
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { loadStackConfig } from '../config';
import { THROWAWAY_ENV } from '../stack/env';
import { freePort } from '../stack/free-port';
import { LocalStack, type StackPart } from '../stack/local-stack';
import { connectTemporalClient } from '../temporal/client';

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
export type BenchPart = StackPart;

export class BenchStack {
  /** every stack started and not yet stopped, so Ctrl-C can stop one still booting */
  static readonly running = new Set<BenchStack>();
  apiUrl = '';
  plainUrl = '';
  /** the development merchant's key (stack/dev-api-key.ts): every request to the api and the plain handler carries it */
  apiKey = '';
  /** the merchant the checkouts belong to (their workflow IDs name it) */
  merchantId = '';
  /** ms from spawning the worker to its first workflow poller on the task queue */
  workerStartMs = 0;
  client!: Client;
  private readonly local: LocalStack;

  private constructor(private readonly options: BenchStackOptions) {
    this.local = new LocalStack({
      tmpPrefix: 'checkout-bench-',
      namespace: 'default',
      taskQueue: `bench-${crypto.randomUUID()}`,
      // warnings only: the bench measures the checkout path, not log shipping
      env: {
        ...THROWAWAY_ENV,
        // the provider answers at once (stub latency 0, as the performance targets assume), no faults
        LATENCY_MS: '0',
        FAULT_MODE: 'ok',
        // Raised on purpose: the per-customer rate (default 10/min) would be what
        // we measure otherwise. The limiter's query still runs on every checkout.
        RATE_LIMIT_PER_MINUTE: '1000000',
        // and the per-key rate: one key sends every checkout of the bench
        KEY_RATE_LIMIT_PER_MINUTE: '100000000',
        // the api's metrics on a free port: another stack (or npm start) may hold the default
        API_METRICS_PORT: '0',
        ...options.env,
      },
      // the worker logs only warnings here, so readiness is its poller as the server sees it
      workerReady: 'poller',
      stdio: 'pipe',
      nodeFlags: options.nodeFlags,
      temporal: { inMemory: options.temporalInMemory, sqlitePragmas: options.sqlitePragmas, dynamicConfig: options.dynamicConfig },
      log: options.log,
    });
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

  get dir(): string {
    return this.local.dir;
  }

  pid(part: 'api' | 'worker' | 'plain' | 'engine-floor' | 'postgres' | 'payments-stub' | 'temporal'): number | undefined {
    return this.local.pid(part);
  }

  private async boot(): Promise<void> {
    const log = this.options.log;
    log(`bench stack in ${this.dir}`);
    await this.local.boot();
    // as the stack's processes connect: its DATA_DIR's payload keys
    this.client = await connectTemporalClient(loadStackConfig(this.local.env).temporal);
    this.workerStartMs = this.local.workerStartMs;
    this.apiUrl = this.local.apiUrl;
    if (!this.local.devApiKey) throw new Error('the bench stack made no API key (CHECKOUT_ENV=production?)');
    this.apiKey = this.local.devApiKey.key;
    this.merchantId = this.local.devApiKey.merchantId;
    // picked after the dev server is up, as LocalStack picks its own
    const plainPort = await freePort();
    this.plainUrl = `http://127.0.0.1:${plainPort}`;
    await this.local.startExtra('plain', 'bench/plain-main.ts', { PORT: String(plainPort) }, `${this.plainUrl}/healthz`);
    log(`up: api ${this.apiUrl}, plain ${this.plainUrl}, stub ${this.local.stubUrl}, Temporal ${this.local.temporalAddress} (worker ready in ${this.workerStartMs} ms)`);
  }

  /** Another process on this stack's environment and node flags (the engine floor's worker); stop() stops it too. */
  startExtra(name: string, entry: string, env: Record<string, string>): Promise<BenchPart> {
    return this.local.startExtra(name, entry, env);
  }

  /**
   * Waits until no checkout workflow (or none of workflowType: the engine
   * floor's) is running (those answered 202 go on in the background and would
   * load the next step), at most timeoutMs.
   */
  async drained(timeoutMs = 120_000, workflowType = 'checkout'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { count } = await this.client.workflow.count(`ExecutionStatus = "Running" AND WorkflowType = "${workflowType}"`);
      if (count === 0) return;
      this.options.log(`  waiting for ${count} ${workflowType} workflow(s) still running ...`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }

  /** The tail of every part's output, for a failure report. */
  tails(): string {
    return this.local.tails();
  }

  async stop(): Promise<void> {
    BenchStack.running.delete(this);
    await this.client?.connection.close().catch(() => undefined);
    await this.local.stop();
  }
}
