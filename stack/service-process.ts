// Runs one of our TypeScript entry points (api, worker, stub) as a child
// process, and stops it: SIGTERM, then SIGKILL if it lingers (past its stop timeout).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';

const ROOT = path.resolve(__dirname, '..');

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** the end of its output (stdout and stderr) when spawned with stdio 'pipe'; '' otherwise */
  tail(): string;
}

/** How much of a piped service's output is kept for diagnostics. */
const OUTPUT_KEPT = 20_000;

/** How long stop() waits after its signal before SIGKILL, unless the spawn says otherwise (a worker's drain). */
export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/**
 * V8 flags for every service we start (also in package.json's start:api and
 * start:worker): a young generation of 4 MiB a semi-space instead of Node 20's
 * 16 MiB took 10-15 % off the worker's memory at the same CPU and latency
 * (docs/performance.md).
 */
export const SERVICE_NODE_FLAGS = ['--max-semi-space-size=4'];

export function spawnService(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  stdio: 'inherit' | 'ignore' | 'pipe' = 'inherit',
  nodeFlags: string[] = SERVICE_NODE_FLAGS,
  stopTimeoutMs: number = DEFAULT_STOP_TIMEOUT_MS,
): ServiceProcess {
  // node with tsx as a loader, not the tsx CLI: the CLI runs the script in a
  // grandchild, so a SIGKILL (crash drills) would hit the wrapper and orphan it.
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', stdio, stdio],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return {
    name,
    child,
    exited,
    tail: () => output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls url until it answers 2xx, the process exits, or timeoutMs passes. */
export async function waitForHttp(url: string, service: ServiceProcess | undefined, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service && hasExited(service)) throw exitedBefore(service, `answering ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (res.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls Postgres at url until a query succeeds, the process exits, or timeoutMs passes. */
export async function waitForPostgres(url: string, service: ServiceProcess | undefined, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (service && hasExited(service)) throw exitedBefore(service, 'Postgres answered');
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      // not up yet
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`Postgres at ${url.replace(/:[^:@/]+@/, ':***@')} did not answer within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function hasExited(service: ServiceProcess): boolean {
  return service.child.exitCode !== null || service.child.signalCode !== null;
}

/** The error for a service that died while we waited for it, with its last output: often all a CI log keeps. */
function exitedBefore(service: ServiceProcess, what: string): Error {
  const tail = service.tail().slice(-2_000);
  return new Error(`${service.name} exited (code ${service.child.exitCode}) before ${what}${tail ? `; its last output:\n${tail}` : ''}`);
}
