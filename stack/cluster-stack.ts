// The production topology on this machine (docs/design.md, "Running the
// stack"): Temporal's server proper on Postgres (stack/temporal-server.ts,
// from the files docker-compose mounts), the app's Postgres, the payments
// stub, two workers and two apis, a round-robin front over the apis, and the
// Web UI when asked for. It is a LocalStack whose Temporal is that server,
// started once Postgres is up, plus a second api and the front: the same
// processes, ports and stop order as npm start's, twice where compose scales.
import type { StackConfig } from '../config';
import { loadStackConfig } from '../config';
import { freePort, freePortBelow32768 } from './free-port';
import { LocalStack, type LocalStackOptions, type StackPart } from './local-stack';
import { startRoundRobinFront, type RoundRobinFront } from './round-robin-front';
import type { ServiceProcess } from './service-process';
import {
  setUpTemporalNamespace,
  setUpTemporalSchema,
  startTemporalServer,
  temporalServerEnv,
  TEMPORAL_DATABASES,
  type RunningTemporalServer,
  type TemporalServerPorts,
} from './temporal-server';
import { startTemporalUiServer } from './temporal-ui-server';
import { ensureTemporalServer, ensureTemporalUiServer } from './toolchain';

/** The cluster's ports; two of each for the apis and the workers. */
export interface ClusterPorts {
  temporal: TemporalServerPorts;
  pg: number;
  stub: number;
  apis: [number, number];
  apiMetrics: [number, number];
  workerMetrics: [number, number];
  front: number;
}

export interface ClusterStackOptions {
  /** tools and defaults; omitted: loadStackConfig() (its TEMPORAL_ADDRESS is replaced by the cluster's frontend) */
  config?: StackConfig;
  /** fixed ports (npm run start:cluster); omitted: free ones */
  ports?: ClusterPorts;
  /** the Web UI's port; omitted: no UI */
  uiPort?: number;
  /** where Postgres' data (Temporal's included) lives, kept by stop(); omitted: a throwaway directory */
  dataDir?: string;
  tmpPrefix?: string;
  namespace?: string;
  /** omitted: LocalStack's (TEMPORAL_TASK_QUEUE or its default) */
  taskQueue?: string;
  /** environment for every service, over the stack's own */
  env?: Record<string, string>;
  /** environment for every api or every worker, over env (a worker started again gets it too) */
  serviceEnv?: LocalStackOptions['serviceEnv'];
  /** worker processes; default 2 (the bench measures 1 against 2) */
  workers?: number;
  stdio?: LocalStackOptions['stdio'];
  workerReady?: LocalStackOptions['workerReady'];
  /** tool provisioning and the deploy scripts' lines */
  log?: (line: string) => void;
  /** one line as each part starts */
  progress?: (line: string) => void;
}

export class ClusterStack {
  readonly local: LocalStack;
  readonly ports: ClusterPorts;
  server?: RunningTemporalServer;
  front?: RoundRobinFront;
  ui?: ServiceProcess;
  /** set when the Web UI was asked for but could not be had: why */
  uiMissing?: string;

  /** A cluster on fixed ports, not started: boot() starts it (start() does both, on free ports unless given). */
  constructor(
    private readonly options: ClusterStackOptions & { ports: ClusterPorts },
  ) {
    const ports = options.ports;
    const config = options.config ?? loadStackConfig();
    this.ports = ports;
    const clusterConfig: StackConfig = { ...config, temporal: { ...config.temporal, address: `127.0.0.1:${ports.temporal.frontend}` } };
    const apiEnv = (i: 0 | 1) => ({ ...options.serviceEnv?.api, API_METRICS_PORT: String(ports.apiMetrics[i]) });
    this.local = new LocalStack({
      config: clusterConfig,
      ports: { temporal: ports.temporal.frontend, pg: ports.pg, stub: ports.stub, api: ports.apis[0] },
      dataDir: options.dataDir,
      tmpPrefix: options.tmpPrefix ?? 'checkout-cluster-',
      namespace: options.namespace,
      taskQueue: options.taskQueue,
      // the front sets X-Forwarded-For, as the edge does in compose
      env: { API_TRUST_PROXY: '1', ...options.env },
      serviceEnv: { api: apiEnv(0), worker: options.serviceEnv?.worker },
      workers: options.workers ?? 2,
      workerEnv: (i) => ({ WORKER_METRICS_PORT: String(ports.workerMetrics[i] ?? 0) }),
      workerReady: options.workerReady ?? 'poller',
      stdio: options.stdio ?? 'pipe',
      temporal: { start: (stack) => this.startServer(stack) },
      log: options.log,
      progress: options.progress,
    });
  }

  /** A cluster booted; one that fails to boot is stopped again. */
  static async start(options: ClusterStackOptions = {}): Promise<ClusterStack> {
    const stack = new ClusterStack({ ...options, ports: options.ports ?? (await freeClusterPorts()) });
    try {
      await stack.boot();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  get apiUrls(): [string, string] {
    return [`http://127.0.0.1:${this.ports.apis[0]}`, `http://127.0.0.1:${this.ports.apis[1]}`];
  }

  get frontUrl(): string {
    return `http://127.0.0.1:${this.front?.port ?? this.ports.front}`;
  }

  /** Both api processes (the second is the local stack's extra 'api-2'). */
  get apis(): StackPart[] {
    return [this.local.api, this.local.extras.get('api-2')].filter((p): p is StackPart => p !== undefined);
  }

  /** Starts every part in order; on failure the caller stops what did start (start() does). */
  async boot(): Promise<void> {
    const progress = this.options.progress ?? (() => undefined);
    await this.local.boot();
    const second = this.ports.apis[1];
    progress(`starting the second api on :${second}`);
    await this.local.startExtra(
      'api-2',
      'api/main.ts',
      { ...this.options.serviceEnv?.api, PORT: String(second), API_METRICS_PORT: String(this.ports.apiMetrics[1]) },
      `http://127.0.0.1:${second}/readyz`,
      120_000,
    );
    this.front = await startRoundRobinFront({ port: this.ports.front, targets: [...this.ports.apis] });
    progress(`round-robin front on :${this.front.port} over the apis on :${this.ports.apis.join(' and :')}`);
    if (this.options.uiPort !== undefined) await this.startUi(this.options.uiPort);
  }

  /** The Web UI is optional: without it, say why and how to look at workflows instead. */
  private async startUi(port: number): Promise<void> {
    const progress = this.options.progress ?? (() => undefined);
    try {
      const binary = await ensureTemporalUiServer(this.local.config.tools, this.options.log ?? progress);
      this.ui = await startTemporalUiServer(binary, this.local.temporalAddress, port);
      progress(`Temporal Web UI on http://localhost:${port}`);
    } catch (err) {
      this.uiMissing = (err as Error).message.split('\n')[0];
      progress(`no Temporal Web UI (${this.uiMissing}); the CLI shows the same: ${this.local.cli} workflow list --address ${this.local.temporalAddress}`);
    }
  }

  /**
   * LocalStack's Temporal: the schema (as the tables' owner of the stack's
   * Postgres, who may create databases), the server, then the namespace.
   */
  private async startServer(stack: LocalStack): Promise<RunningTemporalServer> {
    const progress = this.options.progress ?? (() => undefined);
    const tools = await ensureTemporalServer(stack.config.tools, this.options.log ?? progress);
    const owner = new URL(stack.databaseMigrationUrl);
    const db = { host: owner.hostname, port: Number(owner.port || 5432), user: decodeURIComponent(owner.username), password: decodeURIComponent(owner.password) };
    const env = temporalServerEnv(db, this.ports.temporal);
    // the scripts' own lines; the tools' many others go into the error if a script fails
    const scriptLog = (line: string) => {
      if (/^temporal-(schema|namespace):/.test(line)) progress(line);
    };
    progress(`setting up Temporal's schema in Postgres :${db.port} (databases ${TEMPORAL_DATABASES.history} and ${TEMPORAL_DATABASES.visibility}; deploy/temporal-schema.sh)`);
    await setUpTemporalSchema(tools, env, scriptLog);
    progress(`starting the Temporal server on :${this.ports.temporal.frontend} (deploy/temporal-server.yaml; state in Postgres)`);
    const server = await startTemporalServer(tools.server, env);
    this.server = server;
    try {
      progress(`namespace ${stack.namespace} and search attributes (deploy/temporal-namespace.sh)`);
      await setUpTemporalNamespace(stack.cli, server.address, stack.namespace, scriptLog);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Stops the front, the UI, then the local stack (services, the Temporal server, Postgres); removes a throwaway directory. */
  async stop(): Promise<void> {
    await this.front?.stop().catch(() => undefined);
    await this.ui?.stop();
    await this.local.stop();
  }
}

/** Free ports for a cluster on this machine (tests, drills), no two alike. */
export async function freeClusterPorts(): Promise<ClusterPorts> {
  const taken = new Set<number>();
  const pick = async (find: () => Promise<number>): Promise<number> => {
    for (;;) {
      const port = await find();
      if (!taken.has(port)) return taken.add(port) && port;
    }
  };
  const free = () => pick(freePort);
  // the server's own ports: it records its members' ports in a smallint column
  const low = () => pick(freePortBelow32768);
  const temporal: TemporalServerPorts = {
    frontend: await low(),
    frontendHttp: await low(),
    frontendMembership: await low(),
    history: await low(),
    historyMembership: await low(),
    matching: await low(),
    matchingMembership: await low(),
    worker: await low(),
    workerMembership: await low(),
  };
  return {
    temporal,
    pg: await free(),
    stub: await free(),
    apis: [await free(), await free()],
    // fixed, so a drill or the bench can scrape each process
    apiMetrics: [await free(), await free()],
    workerMetrics: [await free(), await free()],
    front: await free(),
  };
}
