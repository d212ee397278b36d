// `npm start` as a black box for the crash tests: spawned in a process group of
// its own (as a terminal would run it), its output kept, its processes found
// through /proc, stopped with a Ctrl-C to the whole group, and checked gone.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { CONFIG_VARIABLES } from '../../config';
import { devApiKeyPath, readDevApiKey } from '../../stack/dev-api-key';
import { freePort } from '../../stack/free-port';

export interface StartPorts {
  api: number;
  /** the api's /metrics (API_METRICS_PORT) */
  apiMetrics: number;
  stub: number;
  pg: number;
  temporal: number;
  temporalUi: number;
}

export async function freeStartPorts(): Promise<StartPorts> {
  return { api: await freePort(), apiMetrics: await freePort(), stub: await freePort(), pg: await freePort(), temporal: await freePort(), temporalUi: await freePort() };
}

/** The environment npm start gets: ours without any of the stack's variables, then the ports given. */
export function startEnv(ports: StartPorts, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // CHECKOUT_API_KEY too: the key is the one this npm start makes
  for (const name of [...CONFIG_VARIABLES, 'LATENCY_MS', 'FAIL_RATE', 'FAULT_MODE', 'CHECKOUT_API_KEY']) delete env[name];
  return {
    ...env,
    PORT: String(ports.api),
    API_METRICS_PORT: String(ports.apiMetrics),
    STUB_PORT: String(ports.stub),
    EMBEDDED_PG_PORT: String(ports.pg),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.temporalUi),
    WORKER_METRICS_PORT: '0',
    ...extra,
  };
}

const isOwnLine = (line: string) => line.startsWith('[start]') || line.startsWith('[postgres]');

export class NpmStart {
  private out = '';
  /** npm start's own lines, all of them: the output kept above is only its tail, and the workers' logs fill it. */
  private ownLines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(readonly child: ChildProcess) {
    const keeper = () => {
      let partial = '';
      return (chunk: Buffer) => {
        const text = chunk.toString();
        this.out = (this.out + text).slice(-400_000);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        this.ownLines.push(...lines.filter(isOwnLine));
      };
    };
    child.stdout?.on('data', keeper());
    child.stderr?.on('data', keeper());
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** `npm start` in cwd, leader of a new process group (a terminal's foreground job). */
  static spawn(cwd: string, env: NodeJS.ProcessEnv): NpmStart {
    return new NpmStart(spawn('npm', ['start'], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get pgid(): number {
    return this.child.pid as number;
  }

  output(): string {
    return this.out;
  }

  tail(chars = 6_000): string {
    return this.out.slice(-chars);
  }

  /** The [start] lines only: what npm start itself said. */
  startLines(): string[] {
    return [...this.ownLines];
  }

  /** How many of npm start's own lines match pattern, since it started. */
  countStartLines(pattern: RegExp): number {
    return this.ownLines.filter((line) => pattern.test(line)).length;
  }

  /** Waits until the output matches, the process exits, or the time passes. */
  async waitFor(pattern: RegExp, timeoutMs: number, what = String(pattern)): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.out.match(pattern);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`npm start exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; its output ended:\n${this.tail()}`);
      }
      if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs / 1000} s; npm start's output ended:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** How many times the output matches pattern (global). */
  count(pattern: RegExp): number {
    return [...this.out.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))].length;
  }

  /** Processes in this process group whose command line contains text (all of them if omitted). */
  pids(text?: string): number[] {
    return groupProcesses(this.pgid)
      .filter((p) => text === undefined || p.cmdline.includes(text))
      .map((p) => p.pid);
  }

  /** Waits for a process of the group whose command line contains text and which is not one of `not`. */
  async waitForPid(text: string, not: number[], timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pid = this.pids(text).find((p) => !not.includes(p));
      if (pid !== undefined) return pid;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`npm start exited (${this.child.exitCode ?? this.child.signalCode}) while waiting for a new ${text}; its output ended:\n${this.tail()}`);
      }
      if (Date.now() > deadline) throw new Error(`no new ${text} process within ${timeoutMs / 1000} s; npm start's output ended:\n${this.tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Ctrl-C: SIGINT to every process of the group, as a terminal sends it. */
  interrupt(): void {
    signalGroup(this.pgid, 'SIGINT');
  }

  /** Last resort for cleanup: SIGKILL whatever of the group is left. */
  killAll(): void {
    signalGroup(this.pgid, 'SIGKILL');
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

export interface GroupProcess {
  pid: number;
  cmdline: string;
}

/** Every live process whose process group is pgid (read from /proc). */
export function groupProcesses(pgid: number): GroupProcess[] {
  const found: GroupProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue; // a zombie is gone, only not yet reaped
      if (Number(fields[2]) !== pgid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Waits until no process of the group is left; returns those still there after timeoutMs. */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<GroupProcess[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = groupProcesses(pgid);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
export async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The uid and gid of the postgres user, or undefined when there is none. */
export function postgresUser(): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Whether the postgres user can execute file (every folder on the way traversable). */
export function postgresCanExecute(file: string, user: { uid: number; gid: number }): boolean {
  return spawnSync('/bin/sh', ['-c', 'test -x "$1"', 'sh', file], { uid: user.uid, gid: user.gid }).status === 0;
}

/**
 * The development merchant's key npm start wrote to <dataDir>/dev-api-key once
 * its api was up (stack/dev-api-key.ts): how a caller of that stack gets a key.
 */
export function devApiKeyIn(dataDir: string): string {
  const key = readDevApiKey(dataDir, {});
  if (key === undefined) throw new Error(`npm start wrote no key to ${devApiKeyPath(dataDir)}`);
  return key;
}

export async function postCheckout(
  apiUrl: string,
  apiKey: string,
  key: string,
  body: Record<string, unknown> = { customer_id: 'c1', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa' },
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${apiUrl}/checkout`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}`, 'idempotency-key': key },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed };
}
