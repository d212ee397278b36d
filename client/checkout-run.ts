// The bookkeeping of one checkout() call, shared by its POSTs and its polls:
// the deadline, the tally a result or a CheckoutError reports, the events
// handed to onAttempt, and the wait between requests.
import { CheckoutError, type GiveUpReason } from './checkout-error';
import type { Exchange } from './exchange';
import { nextWait, type JitterOptions } from './retry-wait';
import type { AttemptEvent } from './types';

/** A client's checked settings and the clock, timer, randomness and reporter it was given. */
export interface ClientDeps {
  readonly checkoutUrl: string;
  /** `Bearer <apiKey>`: sent with every request, to the api's origin only */
  readonly authorization: string;
  readonly maxAttempts: number;
  readonly totalTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly jitter: JitterOptions;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => number;
  /** onAttempt, made harmless: it never throws. */
  readonly report: (event: AttemptEvent) => void;
}

/** One checkout() call: its key, its time bounds, and what it has done so far. */
export interface CheckoutRun {
  readonly idempotencyKey: string;
  readonly startedMs: number;
  readonly deadlineMs: number;
  attempts: number;
  polls: number;
  /** The last HTTP status, or what happened instead. */
  lastStatus: number | string;
}

/** What one request found: its AttemptEvent before the outcome is decided. */
export type RequestFacts = Omit<AttemptEvent, 'outcome' | 'nextDelayMs' | 'elapsedMs'>;

export function startRun({ now, totalTimeoutMs }: ClientDeps, idempotencyKey: string): CheckoutRun {
  const startedMs = now();
  return { idempotencyKey, startedMs, deadlineMs: startedMs + totalTimeoutMs, attempts: 0, polls: 0, lastStatus: 'none' };
}

function elapsedMs({ now }: Pick<ClientDeps, 'now'>, run: CheckoutRun): number {
  return Math.max(0, now() - run.startedMs);
}

/** The bound on the next request: requestTimeoutMs, cut to the time left; a CheckoutError once none is left. */
export function nextRequestTimeoutMs(deps: ClientDeps, run: CheckoutRun): number {
  const { now } = deps;
  const left = run.deadlineMs - now();
  if (left <= 0) throw giveUp(deps, run, 'total_timeout', `total timeout of ${deps.totalTimeoutMs} ms reached`);
  return Math.max(1, Math.min(deps.requestTimeoutMs, left));
}

/** The error checkout() rejects with, carrying the key to resume with. */
function giveUp(deps: Pick<ClientDeps, 'now'>, run: CheckoutRun, reason: GiveUpReason, detail: string): CheckoutError {
  const { attempts, polls, lastStatus, idempotencyKey } = run;
  return new CheckoutError({ reason, attempts, polls, lastStatus, idempotencyKey, elapsedMs: elapsedMs(deps, run), detail });
}

/** The answer's part of an AttemptEvent: its HTTP status or why none came, and the Retry-After in force. */
export function answerFacts(ex: Exchange, retryAfterMs: number | undefined): Pick<RequestFacts, 'httpStatus' | 'error' | 'retryAfterMs'> {
  return { ...(ex.ok ? { httpStatus: ex.status } : { error: ex.error }), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

export function reportDone(deps: ClientDeps, run: CheckoutRun, facts: RequestFacts): void {
  deps.report({ ...facts, outcome: 'done', elapsedMs: elapsedMs(deps, run) });
}

/** Reports the request as the last one and returns the error to throw for it. */
export function giveUpAfter(deps: ClientDeps, run: CheckoutRun, facts: RequestFacts, reason: GiveUpReason, detail: string): CheckoutError {
  deps.report({ ...facts, outcome: 'give_up', elapsedMs: elapsedMs(deps, run) });
  return giveUp(deps, run, reason, detail);
}

/**
 * Reports the request with the wait it earned and sleeps that long. A wait that
 * would pass the deadline is not slept: the call gives up now rather than at
 * the deadline.
 */
export async function waitBeforeNextRequest(
  deps: ClientDeps,
  run: CheckoutRun,
  facts: RequestFacts,
  outcome: 'retry' | 'follow' | 'pending',
  retry: number,
  retryAfterMs: number | undefined,
): Promise<void> {
  const { sleep } = deps;
  const wait = nextWait(retry, retryAfterMs, { jitter: deps.jitter, deadlineMs: run.deadlineMs, now: deps.now });
  if (wait.kind === 'too_late') {
    const error = giveUp(
      deps,
      run,
      'total_timeout',
      `the next try in ${wait.ms} ms would pass the total timeout of ${deps.totalTimeoutMs} ms` +
        (retryAfterMs !== undefined ? ` (server asked for Retry-After ${retryAfterMs} ms)` : ''),
    );
    deps.report({ ...facts, outcome: 'give_up', elapsedMs: elapsedMs(deps, run) });
    throw error;
  }
  deps.report({ ...facts, outcome, nextDelayMs: wait.ms, elapsedMs: elapsedMs(deps, run) });
  await sleep(wait.ms);
}
