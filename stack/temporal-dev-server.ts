// Runs the Temporal CLI's dev server as a child process: SQLite state in a
// file (or in memory), Web UI, and our custom search attributes registered.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { loadStackConfig } from '../config';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import { freePort } from './free-port';

export interface DevServerOptions {
  cli: string;
  /** omitted: a free one (a restart on the same file passes the first start's port) */
  port?: number;
  uiPort?: number; // omitted: headless
  /** where the Web UI decodes payloads (the api's /codec); omitted: npm start's api, http://localhost:<PORT>/codec */
  uiCodecEndpoint?: string;
  namespace: string;
  /** SQLite file keeping history across restarts; omitted: in memory. */
  dbFile?: string;
  /** SQLite pragmas as NAME=VALUE, passed as --sqlite-pragma; omitted: FILE_SQLITE_PRAGMAS for a file. */
  sqlitePragmas?: string[];
  /** dynamic config as KEY -> JSON value, passed as --dynamic-config-value; merged over DEV_SERVER_DYNAMIC_CONFIG */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
}

export interface RunningDevServer {
  address: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The state file in WAL mode with synchronous=normal: a commit appends to the
 * log instead of syncing the database and its rollback journal, which tripled
 * the checkouts per second on 2 cores (docs/performance.md). A crash of the
 * process loses nothing; a power cut may lose the last commits, never the file.
 */
export const FILE_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'];

/**
 * Dynamic config every dev server we start runs with (docs/performance.md).
 * Eager activities: the worker that completes a workflow task gets the
 * activity it scheduled in the answer, saving a trip through the task queue
 * (30-40 ms per activity on 2 cores). The SDK turns it off by itself for a
 * task queue with a rate limit (WORKER_MAX_ACTIVITIES_PER_SECOND), which
 * eager dispatch would bypass.
 * Eager workflow start: a start from a client sharing its connection with a
 * worker of the task queue (the api's hosted worker, API_EAGER_START) gets
 * the first workflow task in its answer, with no trip through the queue.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Record<string, string | number | boolean> = {
  'system.enableActivityEagerExecution': true,
  'system.enableEagerWorkflowStart': true,
};

const SEARCH_ATTRIBUTE_FLAG_TYPES: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int' };

export function devServerArgs(options: DevServerOptions & { port: number }): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port)];
  args.push('--namespace', options.namespace, '--log-level', 'warn');
  // the UI shows payloads decrypted by the api's codec endpoint (an admin key; api/routes/codec.ts)
  if (options.uiPort !== undefined) {
    args.push('--ui-port', String(options.uiPort), '--ui-codec-endpoint', options.uiCodecEndpoint ?? `http://localhost:${loadStackConfig().api.port}/codec`);
  }
  else args.push('--headless');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const pragma of options.sqlitePragmas ?? (options.dbFile ? FILE_SQLITE_PRAGMAS : [])) args.push('--sqlite-pragma', pragma);
  for (const [key, value] of Object.entries({ ...DEV_SERVER_DYNAMIC_CONFIG, ...options.dynamicConfig })) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  for (const key of Object.values(SEARCH_ATTRIBUTES)) {
    args.push('--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_FLAG_TYPES[key.type]}`);
  }
  return args;
}

/**
 * Starts the dev server and waits until it serves. As it starts it also binds
 * four random free ports of its own (HTTP, metrics, its internal services),
 * so a caller picking free ports for other services picks them after this
 * returns: picked before, one of them could be taken.
 */
export async function startTemporalDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  // A port picked free may be taken before the server binds it (or one the server picks for itself
  // may be): a server that exits at once is started again on another port, twice at most. A
  // restart on a given port (the same state file) is not moved.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (!(err instanceof ExitedEarly) || options.port !== undefined || attempt >= 3) throw err;
      (options.log ?? (() => undefined))(`${err.message}; starting it again on another port`);
    }
  }
}

/** The dev server exited before it served: its last output says why. */
class ExitedEarly extends Error {}

async function startOnce(options: DevServerOptions): Promise<RunningDevServer> {
  const log = options.log ?? (() => undefined);
  const port = options.port ?? (await freePort());
  if (options.dbFile) fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const child = spawn(options.cli, devServerArgs({ ...options, port }), { stdio: ['ignore', 'pipe', 'pipe'] });
  // the last lines of its output, for the error if it exits before it serves
  const tail: string[] = [];
  const hear = (chunk: Buffer) => {
    const text = chunk.toString().trim();
    log(text);
    tail.push(...text.split('\n'));
    tail.splice(0, Math.max(0, tail.length - 20));
  };
  child.stdout?.on('data', hear);
  child.stderr?.on('data', hear);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timeout);
  };

  try {
    await waitUntilServing(address, options.namespace, exited, () => tail.join('\n'));
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, port, process: child, stop };
}

async function waitUntilServing(address: string, namespace: string, exited: Promise<number | null>, output: () => string): Promise<void> {
  let done = false;
  const deadline = Date.now() + 60_000;
  const early = exited.then((code) => {
    if (!done) throw new ExitedEarly(`the Temporal dev server on ${address} exited with code ${code} before it was ready; its output ended:\n${output()}`);
  });
  const ready = (async () => {
    for (;;) {
      try {
        const connection = await Connection.connect({ address, connectTimeout: 1_000 });
        try {
          await connection.workflowService.describeNamespace({ namespace });
          return;
        } finally {
          await connection.close();
        }
      } catch (err) {
        if (done) return;
        if (Date.now() > deadline) {
          throw new Error(`the Temporal dev server at ${address} was not ready within 60 s: ${(err as Error).message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  })();
  try {
    await Promise.race([ready, early]);
  } finally {
    done = true;
  }
}
