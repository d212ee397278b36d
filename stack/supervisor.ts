// npm start's restart policy, as docker-compose's `restart: unless-stopped`:
// a worker, the api, the payments stub or an extra process (the cluster's
// second api) that dies (crash, OOM kill, kill -9)
// is started again after an exponential backoff with jitter, with a line
// saying what died, how (exit code or signal) and when it restarts. A part
// that keeps dying (maxCrashes within windowMs) is given up on: one line, and
// the caller stops the stack. Temporal and Postgres are not restarted here.
import type { LocalStack, StackPart } from './local-stack';

export type SupervisedKind = 'worker' | 'api' | 'stub' | 'extra';

export interface RestartPolicy {
  /** The first restart's delay; it doubles with each crash of the part within windowMs, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** This many crashes of one part within windowMs: give up. */
  maxCrashes: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { baseDelayMs: 500, maxDelayMs: 30_000, maxCrashes: 5, windowMs: 60_000 };

/** A Ctrl-C reaches every process of the group at once: a part's exit waits this long for the stop to begin before it counts as a crash. */
const SETTLE_MS = 300;

export interface SupervisorOptions {
  log: (line: string) => void;
  /** Called once when a part keeps dying, with the line that says so; the caller stops the stack. */
  onGiveUp: (line: string) => void;
  policy?: RestartPolicy;
  /** Uniform in [0, 1): the jitter. */
  random?: () => number;
}

/** The delay before restart number `crashes` (1-based) within the window: exponential, then "equal jitter" (half fixed, half random). */
export function restartDelayMs(crashes: number, policy: RestartPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, crashes - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** How a process ended, for a log line. */
export function describeExit(part: StackPart): string {
  const { exitCode, signalCode } = part.service.child;
  return signalCode ? `was killed by ${signalCode}` : `exited with code ${exitCode}`;
}

export class Supervisor {
  private stopped = false;
  private readonly policy: RestartPolicy;
  /** crash times by kind (an extra process by its name) */
  private readonly crashes = new Map<string, number[]>();
  private readonly timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(
    private readonly stack: LocalStack,
    private readonly options: SupervisorOptions,
  ) {
    this.policy = options.policy ?? DEFAULT_RESTART_POLICY;
  }

  /** Watches every worker, the api, the stub and the extra processes the stack runs now. */
  start(): void {
    for (const worker of this.stack.workers) this.watch('worker', worker);
    if (this.stack.api) this.watch('api', this.stack.api);
    if (this.stack.stub) this.watch('stub', this.stack.stub);
    for (const extra of this.stack.extras.values()) this.watch('extra', extra);
  }

  /** No more restarts (call before stopping the stack); a restart waiting for its delay is dropped. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.resolve();
    }
    this.timers.clear();
  }

  private watch(kind: SupervisedKind, part: StackPart): void {
    void part.service.exited.then(() => this.onExit(kind, part, describeExit(part)));
  }

  private async onExit(kind: SupervisedKind, part: StackPart, how: string): Promise<void> {
    await this.sleep(SETTLE_MS);
    if (this.stopped) return;
    const name = part.service.name;
    const now = Date.now();
    const key = kind === 'extra' ? name : kind;
    const recent = [...(this.crashes.get(key) ?? []).filter((t) => now - t < this.policy.windowMs), now];
    this.crashes.set(key, recent);
    const window = `${Math.round(this.policy.windowMs / 1000)} s`;
    if (recent.length >= this.policy.maxCrashes) {
      this.stopped = true;
      this.options.onGiveUp(
        `${name} died ${recent.length} times within ${window} (last: ${how}); not restarting it again: stopping the stack. Its output above says why; fix that and start again`,
      );
      return;
    }
    const delayMs = restartDelayMs(recent.length, this.policy, this.options.random);
    this.options.log(
      `${name} (pid ${part.service.child.pid}) ${how}; restarting it in ${(delayMs / 1000).toFixed(1)} s (crash ${recent.length} within ${window}; the stack stops at ${this.policy.maxCrashes})`,
    );
    await this.sleep(delayMs);
    if (this.stopped) return;
    const started = Date.now();
    let next: StackPart;
    try {
      next = await this.startAgain(kind, part);
    } catch (err) {
      if (this.stopped) return;
      // it died (or hung) on its way up: one more crash, with the reason
      await this.onExit(kind, part, `failed to start again (${(err as Error).message.split('\n')[0]})`);
      return;
    }
    if (this.stopped) return;
    this.options.log(`${name} restarted (pid ${next.service.child.pid}, ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    this.watch(kind, next);
  }

  private startAgain(kind: SupervisedKind, dead: StackPart): Promise<StackPart> {
    switch (kind) {
      case 'worker':
        return this.stack.replaceWorker(dead);
      case 'api':
        return this.stack.startApi();
      case 'stub':
        return this.stack.startStub();
      case 'extra':
        return this.stack.restartExtra(dead.service.name);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.timers.add(entry);
    });
  }
}
