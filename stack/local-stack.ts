// The whole stack on this machine as child processes: the Temporal dev server
// (or, for the cluster stack, a Temporal of the caller's started once Postgres
// is up), embedded Postgres (or the one at DATABASE_URL), the payments stub, the
// worker(s) and the api, started in that order and stopped together; then the
// development merchant's API key (stack/dev-api-key.ts, `apiKey`). npm start
// runs it on the configured ports and data directory; drills, the bench and the
// test setup on free ports in a throwaway directory, and keep the handles to
// stop, SIGKILL or start again one part (a worker, Temporal, Postgres).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import pg from 'pg';
import { pepperOf } from '../accounts/pepper';
import { embeddedDatabaseUrl, loadApiKeyConfig, loadStackConfig, loadWorkerConfig, type StackConfig } from '../config';
import { embeddedDatabaseOwnerUrl } from '../config/read';
import { ensureDevApiKey, type DevApiKey } from './dev-api-key';
import { stackEnv, type StackPorts } from './env';
import { freePort } from './free-port';
import { describeRuntime, preparePostgresRuntime } from './postgres-runtime';
import { spawnService, waitForHttp, waitForPostgres, type ServiceProcess } from './service-process';
import { startTemporalDevServer, type RunningDevServer } from './temporal-dev-server';
import { ensureTemporalCli } from './toolchain';

export type StackPartName = 'temporal' | 'postgres' | 'stub' | 'worker' | 'api';

/** A running Temporal the stack stops with itself (the dev server, or the cluster's server). */
export type RunningTemporal = Pick<RunningDevServer, 'address' | 'port' | 'process' | 'stop'>;
export const ALL_PARTS: readonly StackPartName[] = ['temporal', 'postgres', 'stub', 'worker', 'api'];

/** A process the stack started, with the tail of its output (stdio 'pipe') for diagnostics. */
export interface StackPart {
  service: ServiceProcess;
  tail(): string;
}

export interface LocalStackOptions {
  /** tools and defaults (namespace, task queue, Postgres); omitted: loadStackConfig() */
  config?: StackConfig;
  /** the parts to start, always in the order of ALL_PARTS; omitted: all */
  parts?: readonly StackPartName[];
  /** fixed ports (npm start: the configured ones); each one omitted is a free one, picked once Temporal is up */
  ports?: Partial<StackPorts>;
  /** the Temporal Web UI's port; omitted: the dev server runs headless */
  temporalUiPort?: number;
  /** where Temporal's SQLite file and Postgres' data live, kept by stop(); omitted: a throwaway directory stop() removes */
  dataDir?: string;
  /** the throwaway directory's name prefix in the OS temp directory */
  tmpPrefix?: string;
  /** omitted: 'default' */
  namespace?: string;
  /** omitted: the configured one */
  taskQueue?: string;
  /** an existing Postgres: the embedded one is not started */
  databaseUrl?: string;
  /** with databaseUrl: the tables' owner's URL, for migrations; omitted: databaseUrl */
  databaseMigrationUrl?: string;
  /** the provider the worker calls; omitted: this stack's payments stub */
  paymentsUrl?: string;
  /** environment for every service, over the stack's own (stackEnv) */
  env?: Record<string, string>;
  /** environment for one kind of service, over env */
  serviceEnv?: Partial<Record<Exclude<StackPartName, 'temporal'>, Record<string, string>>>;
  /** workers started at boot; omitted: 1 */
  workers?: number;
  /** environment for the worker started i-th at boot (0-based), over serviceEnv.worker; kept when it is replaced */
  workerEnv?: (index: number) => Record<string, string>;
  /**
   * When a worker counts as started: 'log-line' its "worker started" log line
   * (stdio 'pipe' and LOG_LEVEL info or lower), 'poller' a workflow poller on
   * the task queue as the server sees it, 'none' at once. Omitted: 'poller'.
   */
  workerReady?: 'log-line' | 'poller' | 'none';
  /** the services' output: kept for tail() ('pipe', the default), shown ('inherit') or dropped ('ignore') */
  stdio?: 'pipe' | 'inherit' | 'ignore';
  /** node flags for our services; omitted: SERVICE_NODE_FLAGS */
  nodeFlags?: string[];
  temporal?: {
    /** state in memory rather than in a SQLite file in the data directory */
    inMemory?: boolean;
    /** SQLite pragmas (NAME=VALUE); omitted: FILE_SQLITE_PRAGMAS */
    sqlitePragmas?: string[];
    /** dynamic config over DEV_SERVER_DYNAMIC_CONFIG */
    dynamicConfig?: Record<string, string | number | boolean>;
    /** the dev server's own output */
    log?: (line: string) => void;
    /**
     * Starts a Temporal of the caller's instead of the dev server, once
     * Postgres is up (the cluster's server keeps its state there), and again
     * on startTemporal(); it must serve at config.temporal.address.
     */
    start?: (stack: LocalStack) => Promise<RunningTemporal>;
  };
  /** the Temporal CLI; omitted: ensureTemporalCli() */
  cli?: string;
  /** tool provisioning messages */
  log?: (line: string) => void;
  /** one line as Temporal and Postgres start (npm start prints them) */
  progress?: (line: string) => void;
}

export class LocalStack {
  readonly config: StackConfig;
  readonly dir: string;
  /** the directory is ours: stop() removes it */
  readonly throwaway: boolean;
  readonly namespace: string;
  readonly taskQueue: string;
  /** every service's environment (before serviceEnv and a spawn's own); filled by boot() */
  readonly env: NodeJS.ProcessEnv = {};
  ports: StackPorts = { temporal: 0, pg: 0, stub: 0, api: 0 };
  cli = '';
  temporal?: RunningTemporal;
  postgres?: StackPart;
  stub?: StackPart;
  workers: StackPart[] = [];
  api?: StackPart;
  /** the development merchant's key, made or found once the api is up (stack/dev-api-key.ts); undefined in production or without an api */
  devApiKey?: DevApiKey;
  /** other processes started on this stack (startExtra), stopped with it */
  readonly extras = new Map<string, StackPart>();
  /** ms from spawning the last worker started to its being ready (workerReady) */
  workerStartMs = 0;
  private readonly parts: ReadonlySet<StackPartName>;
  /** what each worker and extra process was started with, to start its replacement the same way */
  private readonly startedWith = new Map<StackPart, Record<string, string>>();
  private readonly extraSpecs = new Map<string, { entry: string; env: Record<string, string>; readyUrl?: string; readyTimeoutMs: number }>();
  private connection?: Connection;
  private client?: Client;
  private stopping = false;

  constructor(private readonly options: LocalStackOptions = {}) {
    this.config = options.config ?? loadStackConfig();
    this.parts = new Set(options.parts ?? ALL_PARTS);
    this.namespace = options.namespace ?? 'default';
    this.taskQueue = options.taskQueue ?? this.config.temporal.taskQueue;
    this.throwaway = options.dataDir === undefined;
    if (options.dataDir !== undefined) {
      this.dir = options.dataDir;
    } else {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), options.tmpPrefix ?? 'checkout-stack-'));
      // as root, Postgres runs as the postgres user, who must reach its data directory
      fs.chmodSync(this.dir, 0o755);
    }
  }

  /** A stack booted; one that fails to boot is stopped again. */
  static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const stack = new LocalStack(options);
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  has(part: StackPartName): boolean {
    return this.parts.has(part);
  }

  get embeddedPostgres(): boolean {
    return this.has('postgres') && this.options.databaseUrl === undefined;
  }

  get temporalAddress(): string {
    return this.temporal?.address ?? this.config.temporal.address;
  }

  get databaseUrl(): string {
    if (this.options.databaseUrl !== undefined) return this.options.databaseUrl;
    return this.embeddedPostgres ? embeddedDatabaseUrl(this.ports.pg) : this.config.database.url;
  }

  /** The tables' owner, for migrations (databaseUrl is the application's role, which owns nothing). */
  get databaseMigrationUrl(): string {
    if (this.options.databaseUrl !== undefined) return this.options.databaseMigrationUrl ?? this.options.databaseUrl;
    return this.embeddedPostgres ? embeddedDatabaseOwnerUrl(this.ports.pg) : this.config.database.migrationUrl;
  }

  get stubUrl(): string {
    return `http://127.0.0.1:${this.ports.stub}`;
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.ports.api}`;
  }

  /** The key to call this stack's api with (Authorization: Bearer ...); undefined before the api is up, or in production. */
  get apiKey(): string | undefined {
    return this.devApiKey?.key;
  }

  /** Starts every part asked for, in order; on failure the caller stops what did start (start() does). */
  async boot(): Promise<void> {
    const progress = this.options.progress ?? (() => undefined);
    this.cli = this.options.cli ?? (await ensureTemporalCli(this.config.tools, this.options.log ?? (() => undefined)));
    // Temporal first, our other ports after (startTemporalDevServer says why); a Temporal of the caller's after Postgres
    const ownTemporal = this.options.temporal?.start !== undefined;
    if (this.has('temporal') && !ownTemporal) await this.startTemporal();
    await this.pickPorts();
    Object.assign(
      this.env,
      // the example receiver listens on 127.0.0.1; the caller's environment may still turn it off
      { WEBHOOK_ALLOW_PRIVATE_NETWORKS: '1' },
      process.env,
      stackEnv({
        dataDir: this.dir,
        temporalAddress: this.temporalAddress,
        namespace: this.namespace,
        taskQueue: this.taskQueue,
        databaseUrl: this.databaseUrl,
        databaseMigrationUrl: this.databaseMigrationUrl,
        pgPort: this.embeddedPostgres ? this.ports.pg : undefined,
        paymentsUrl: this.options.paymentsUrl ?? (this.has('stub') ? this.stubUrl : undefined),
        stubPort: this.has('stub') ? this.ports.stub : undefined,
        apiPort: this.has('api') ? this.ports.api : undefined,
      }),
      this.options.env,
    );

    if (this.embeddedPostgres) await this.startPostgres();
    else if (this.has('postgres')) progress('using the Postgres at DATABASE_URL');
    if (this.has('temporal') && ownTemporal) await this.startTemporal();
    if (this.has('stub')) await this.startStub();
    if (this.has('worker')) for (let i = 0; i < (this.options.workers ?? 1); i += 1) await this.startWorker(this.options.workerEnv?.(i));
    if (this.has('api')) {
      await this.startApi();
      await this.ensureDevApiKey();
    }
  }

  /**
   * The development merchant and its key, once the api has migrated the
   * database, under the pepper the api uses (same environment, same DATA_DIR).
   * Production stacks get none: their keys come from `npm run merchant`.
   */
  private async ensureDevApiKey(): Promise<void> {
    const apiKeys = loadApiKeyConfig({ ...this.env, ...this.options.serviceEnv?.api });
    if (apiKeys.environment === 'production') {
      this.options.progress?.('CHECKOUT_ENV=production: no development key is made; create merchants and keys with npm run merchant');
      return;
    }
    const db = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 10_000 });
    db.on('error', () => undefined); // a dropped connection fails the query below, not the process
    await db.connect();
    try {
      this.devApiKey = await ensureDevApiKey(db, { dataDir: this.dir, pepper: pepperOf(apiKeys), keyEnv: apiKeys.keyEnv });
    } finally {
      await db.end().catch(() => undefined);
    }
  }

  private async pickPorts(): Promise<void> {
    const fixed = this.options.ports ?? {};
    const pick = async (wanted: boolean, port: number | undefined) => port ?? (wanted ? await freePort() : 0);
    this.ports = {
      temporal: this.temporal?.port ?? fixed.temporal ?? Number(this.config.temporal.address.split(':').pop()),
      pg: await pick(this.embeddedPostgres, fixed.pg),
      stub: await pick(this.has('stub'), fixed.stub),
      api: await pick(this.has('api'), fixed.api),
    };
  }

  /** Starts the dev server (or the caller's Temporal): on its fixed or a free port the first time, on the same port (and state file) after a stop. */
  async startTemporal(): Promise<RunningTemporal> {
    this.refuseWhenStopping();
    const t = this.options.temporal ?? {};
    if (t.start) return this.keepTemporal(await t.start(this));
    const port = this.temporal?.port ?? this.options.ports?.temporal;
    const dbFile = t.inMemory ? undefined : path.join(this.dir, 'temporal.db');
    this.options.progress?.(`starting the Temporal dev server on ${port === undefined ? 'a free port' : `:${port}`} (state in ${dbFile ?? 'memory'})`);
    const server = await startTemporalDevServer({
      cli: this.cli,
      port,
      uiPort: this.options.temporalUiPort,
      namespace: this.namespace,
      dbFile,
      sqlitePragmas: t.sqlitePragmas,
      dynamicConfig: t.dynamicConfig,
      log: t.log,
    });
    return this.keepTemporal(server);
  }

  private async keepTemporal(server: RunningTemporal): Promise<RunningTemporal> {
    this.temporal = server;
    if (this.stopping) {
      // stop() ran while it was starting
      await server.stop();
      throw new Error('the stack was stopped while Temporal started');
    }
    return server;
  }

  /**
   * Starts the embedded Postgres on the stack's port and data directory (the
   * same ones after a stop). Where its binaries run from and its data lives is
   * decided here first (preparePostgresRuntime: as root with a clone the
   * postgres user cannot reach, a copy and a data folder it can reach), so a
   * setup problem is one line from this process, not a dead child.
   */
  async startPostgres(): Promise<StackPart> {
    const runtime = preparePostgresRuntime(path.join(this.dir, 'postgres'), this.options.log);
    this.options.progress?.(`starting embedded Postgres on :${this.ports.pg} (${describeRuntime(runtime)})`);
    // its own process (scripts/start-postgres.ts), stopped or restarted like the other parts
    this.postgres = this.spawn('postgres', 'scripts/start-postgres.ts', this.options.serviceEnv?.postgres);
    await waitForPostgres(this.databaseUrl, this.postgres.service);
    return this.postgres;
  }

  async startStub(): Promise<StackPart> {
    const stub = this.spawn('payments-stub', 'payments-stub/main.ts', this.options.serviceEnv?.stub);
    this.stub = stub;
    await stoppedUnlessReady(stub, waitForHttp(`${this.stubUrl}/healthz`, stub.service));
    return stub;
  }

  /** Starts one more worker and waits until it is ready (workerReady); one that fails to get ready is stopped and dropped. */
  async startWorker(extraEnv: Record<string, string> = {}): Promise<StackPart> {
    const ready = this.options.workerReady ?? 'poller';
    const client = ready === 'poller' ? await this.temporalClient() : undefined;
    const spawned = Date.now();
    const worker = this.spawn('worker', 'worker/main.ts', { ...this.options.serviceEnv?.worker, ...extraEnv });
    this.workers.push(worker);
    this.startedWith.set(worker, extraEnv);
    try {
      if (ready === 'log-line') await waitForLogLine(worker, '"msg":"worker started"');
      if (client) await this.waitForPoller(client, worker);
    } catch (err) {
      this.workers = this.workers.filter((w) => w !== worker);
      await worker.service.stop('SIGKILL');
      throw err;
    }
    this.workerStartMs = Date.now() - spawned;
    return worker;
  }

  /** A worker that died replaced by a fresh one started the same way (npm start's supervision). */
  async replaceWorker(dead: StackPart): Promise<StackPart> {
    this.workers = this.workers.filter((w) => w !== dead);
    const env = this.startedWith.get(dead);
    this.startedWith.delete(dead);
    return this.startWorker(env);
  }

  /** SIGKILLs every running worker (a crash, not a shutdown); returns how many. */
  async killWorkers(): Promise<number> {
    const running = this.workers.filter((w) => !exited(w));
    for (const w of running) w.service.child.kill('SIGKILL');
    await Promise.all(running.map((w) => w.service.exited));
    this.workers = this.workers.filter((w) => !running.includes(w));
    return running.length;
  }

  /** Starts the api (again: on the same port) and waits until it is ready; extraEnv over serviceEnv.api. */
  async startApi(extraEnv: Record<string, string> = {}): Promise<StackPart> {
    const api = this.spawn('api', 'api/main.ts', { ...this.options.serviceEnv?.api, ...extraEnv });
    this.api = api;
    await stoppedUnlessReady(api, waitForHttp(`${this.apiUrl}/readyz`, api.service, 120_000));
    return api;
  }

  /** Starts another process on this stack's environment (e.g. the bench's plain handler, the cluster's second api); stop() stops it too. */
  async startExtra(name: string, entry: string, extraEnv: Record<string, string>, readyUrl?: string, readyTimeoutMs = 60_000): Promise<StackPart> {
    const part = this.spawn(name, entry, extraEnv);
    this.extras.set(name, part);
    this.extraSpecs.set(name, { entry, env: extraEnv, readyUrl, readyTimeoutMs });
    if (readyUrl) await stoppedUnlessReady(part, waitForHttp(readyUrl, part.service, readyTimeoutMs));
    return part;
  }

  /** An extra process started again as it was first (supervision). */
  async restartExtra(name: string): Promise<StackPart> {
    const spec = this.extraSpecs.get(name);
    if (!spec) throw new Error(`no extra process named ${name}`);
    return this.startExtra(name, spec.entry, spec.env, spec.readyUrl, spec.readyTimeoutMs);
  }

  /** A process on this stack's environment, not tracked: the caller keeps it (and stops it, or assigns it to api). */
  spawn(name: string, entry: string, extraEnv: Record<string, string> = {}): StackPart {
    this.refuseWhenStopping();
    const env = { ...this.env, ...extraEnv };
    // a worker drains for its shutdown grace before it exits: its stop waits that long, and more
    const stopTimeoutMs = name === 'worker' ? workerStopTimeoutMs(env) : undefined;
    const service = spawnService(name, entry, env, this.options.stdio ?? 'pipe', this.options.nodeFlags, stopTimeoutMs);
    return { service, tail: service.tail };
  }

  /** A client of the stack's Temporal (one connection, closed by stop()). */
  async temporalClient(): Promise<Client> {
    if (!this.client) {
      this.connection = await Connection.connect({ address: this.temporalAddress });
      this.client = new Client({ connection: this.connection, namespace: this.namespace });
    }
    return this.client;
  }

  pid(part: string): number | undefined {
    switch (part) {
      case 'temporal':
        return this.temporal?.process.pid;
      case 'postgres':
        return this.postgres?.service.child.pid;
      case 'stub':
      case 'payments-stub':
        return this.stub?.service.child.pid;
      case 'worker':
        return this.workers[0]?.service.child.pid;
      case 'api':
        return this.api?.service.child.pid;
      default:
        return this.extras.get(part)?.service.child.pid;
    }
  }

  /** The tail of every part's output, for a failure report. */
  tails(): string {
    return this.serviceParts()
      .map((part) => `--- ${part.service.name} ---\n${part.tail().slice(-2_000)}`)
      .join('\n');
  }

  /** Stops every process (the services, then Temporal, then Postgres); removes a throwaway directory. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.connection?.close().catch(() => undefined);
    const services = this.serviceParts().filter((p) => p !== this.postgres);
    await Promise.all(services.map((p) => p.service.stop()));
    await this.temporal?.stop().catch(() => undefined);
    await this.postgres?.service.stop();
    if (this.throwaway) fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private serviceParts(): StackPart[] {
    return [this.postgres, this.stub, ...this.workers, this.api, ...this.extras.values()].filter((p): p is StackPart => p !== undefined);
  }

  private refuseWhenStopping(): void {
    if (this.stopping) throw new Error('the stack is stopping');
  }

  /**
   * This worker's workflow poller on the task queue as the server sees it (by
   * the SDK's default identity, pid@host, so a dead worker's poller the server
   * still lists does not count): ready whatever it logs.
   */
  private async waitForPoller(client: Client, worker: StackPart): Promise<void> {
    const identity = `${worker.service.child.pid}@`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (exited(worker)) throw new Error(`worker exited before polling:\n${worker.tail()}`);
      const described = await client.workflowService.describeTaskQueue({
        namespace: this.namespace,
        taskQueue: { name: this.taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((described.pollers ?? []).some((p) => p.identity?.startsWith(identity))) return;
      if (Date.now() > deadline) throw new Error('worker did not poll within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Waits for ready; a part that does not get there is stopped (SIGKILL if it hangs) before the error goes on. */
async function stoppedUnlessReady(part: StackPart, ready: Promise<void>): Promise<void> {
  try {
    await ready;
  } catch (err) {
    await part.service.stop('SIGKILL');
    throw err;
  }
}

/** How long stopping a worker may take before SIGKILL: its shutdown grace (config.ts), plus room to close. */
function workerStopTimeoutMs(env: NodeJS.ProcessEnv): number {
  try {
    return Math.max(10_000, loadWorkerConfig(env).shutdown.graceMs + 10_000);
  } catch {
    return 10_000; // a configuration the worker refuses: it exits at once anyway
  }
}

function exited(part: StackPart): boolean {
  return part.service.child.exitCode !== null || part.service.child.signalCode !== null;
}

async function waitForLogLine(part: StackPart, text: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!part.tail().includes(text)) {
    if (exited(part)) throw new Error(`${part.service.name} exited before starting:\n${part.tail()}`);
    if (Date.now() > deadline) throw new Error(`${part.service.name} did not start within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
