// Temporal's server proper (all services in one process) on Postgres, as
// docker-compose runs it and from the same files in deploy/: the schema set up
// by deploy/temporal-schema.sh, the server started with
// deploy/temporal-server.yaml (and the dynamic config it names), the namespace
// and search attributes made by deploy/temporal-namespace.sh through the
// operator API. What differs here is only the environment those files read.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Connection, type TLSConfig } from '@temporalio/client';
import type { TemporalServerTools } from './toolchain';

const ROOT = path.resolve(__dirname, '..');
/** Relative to ROOT, the server's working directory, as they are to /etc/temporal in compose's containers. */
export const TEMPORAL_SERVER_CONFIG = 'deploy/temporal-server.yaml';
export const TEMPORAL_SCHEMA_SCRIPT = 'deploy/temporal-schema.sh';
export const TEMPORAL_NAMESPACE_SCRIPT = 'deploy/temporal-namespace.sh';

/** The databases Temporal keeps its state in, in the stack's Postgres. */
export const TEMPORAL_DATABASES = { history: 'temporal', visibility: 'temporal_visibility' };

export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** The defaults of deploy/temporal-server.yaml (npm run start:cluster), which compose's server runs on too. */
export const DEFAULT_TEMPORAL_SERVER_PORTS: TemporalServerPorts = {
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
};

export interface TemporalDatabase {
  host: string;
  port: number;
  user: string;
  password: string;
}

/**
 * The variables deploy/temporal-server.yaml and deploy/temporal-schema.sh
 * read (the names Temporal's images use), for a server on 127.0.0.1.
 */
export function temporalServerEnv(db: TemporalDatabase, ports: TemporalServerPorts): Record<string, string> {
  return {
    POSTGRES_SEEDS: db.host,
    DB_PORT: String(db.port),
    POSTGRES_USER: db.user,
    POSTGRES_PWD: db.password,
    DBNAME: TEMPORAL_DATABASES.history,
    VISIBILITY_DBNAME: TEMPORAL_DATABASES.visibility,
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    FRONTEND_GRPC_PORT: String(ports.frontend),
    FRONTEND_HTTP_PORT: String(ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(ports.frontendMembership),
    HISTORY_GRPC_PORT: String(ports.history),
    HISTORY_MEMBERSHIP_PORT: String(ports.historyMembership),
    MATCHING_GRPC_PORT: String(ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(ports.matchingMembership),
    WORKER_GRPC_PORT: String(ports.worker),
    WORKER_MEMBERSHIP_PORT: String(ports.workerMembership),
    // its info lines are many and routine: what is worse goes to the output kept for errors
    LOG_LEVEL: 'warn',
  };
}

type Log = (line: string) => void;

/** Runs one of the deploy/ scripts with sh; its lines go to log, its last ones into the error if it fails. */
export async function runDeployScript(script: string, env: Record<string, string>, log: Log): Promise<void> {
  const child = spawn('sh', [path.join(ROOT, script)], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail = keepTail(child, log);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`${script} exited with ${code}: ${tail().split('\n').slice(-8).join('\n')}`);
}

/** Temporal's two databases created if missing and at the latest schema (deploy/temporal-schema.sh). */
export async function setUpTemporalSchema(tools: TemporalServerTools, env: Record<string, string>, log: Log): Promise<void> {
  await runDeployScript(TEMPORAL_SCHEMA_SCRIPT, { ...env, TEMPORAL_SQL_TOOL: tools.sqlTool }, log);
}

/** The namespace and the search attributes (deploy/temporal-namespace.sh), through the server's operator API. */
export async function setUpTemporalNamespace(cli: string, address: string, namespace: string, log: Log): Promise<void> {
  await runDeployScript(TEMPORAL_NAMESPACE_SCRIPT, { TEMPORAL_CLI: cli, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace }, log);
}

export interface RunningTemporalServer {
  address: string;
  port: number;
  process: ChildProcess;
  /** the end of its output, for an error report */
  tail(): string;
  stop(): Promise<void>;
}

/** Starts the server with deploy/temporal-server.yaml and waits until its frontend answers. */
export async function startTemporalServer(
  server: string,
  env: Record<string, string>,
  log: Log = () => undefined,
  /** how to reach its frontend when it serves TLS (deploy/temporal-server.yaml's TEMPORAL_TLS_SERVER_*) */
  tls?: TLSConfig,
): Promise<RunningTemporalServer> {
  const child = spawn(server, ['--config-file', TEMPORAL_SERVER_CONFIG, '--allow-no-auth', 'start'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail = keepTail(child, log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = Number(env.FRONTEND_GRPC_PORT);
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForFrontend(address, child, tail, tls);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, port, process: child, tail, stop };
}

async function waitForFrontend(address: string, child: ChildProcess, tail: () => string, tls: TLSConfig | undefined, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the Temporal server exited (${child.signalCode ?? `code ${child.exitCode}`}) before its frontend at ${address} answered; its output ended:\n${tail().slice(-3_000)}`);
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000, tls });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the Temporal server's frontend at ${address} did not answer within ${timeoutMs / 1000} s: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function keepTail(child: ChildProcess, log: Log): () => string {
  let output = '';
  const hear = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    for (const line of text.split('\n')) if (line.trim()) log(line.trim());
  };
  child.stdout?.on('data', hear);
  child.stderr?.on('data', hear);
  return () => output;
}
