// After a 202 the checkout is running on the server: only GETs of its Location
// are sent from then on, since a second POST could only attach to the same
// execution anyway, and polling is what tells us how it ended.
import { checkoutResult, classifyPollAnswer, type Answer, type PollVerdict } from './answer';
import {
  answerFacts,
  giveUpAfter,
  nextRequestTimeoutMs,
  reportDone,
  waitBeforeNextRequest,
  type CheckoutRun,
  type ClientDeps,
  type RequestFacts,
} from './checkout-run';
import { exchange } from './exchange';
import { parseRetryAfter } from './retry-wait';
import type { CheckoutResult } from './types';

/** What one poll leads to. */
type PollNext = { kind: 'done'; result: CheckoutResult } | { kind: 'pending' } | { kind: 'retry' } | { kind: 'unexpected'; detail: string };

interface Poll {
  facts: RequestFacts;
  retryAfterMs: number | undefined;
  next: PollNext;
}

/**
 * GETs the Location until the payment is final. Only failed polls count
 * against maxAttempts, and only in a row: a pending payment is progress.
 */
export async function followLocation(
  deps: ClientDeps,
  run: CheckoutRun,
  location: string,
  locationRetryAfterMs: number | undefined,
): Promise<CheckoutResult> {
  let failedPollsInARow = 0;
  for (;;) {
    const timeoutMs = nextRequestTimeoutMs(deps, run);
    const { facts, retryAfterMs, next } = await pollOnce(deps, run, location, locationRetryAfterMs, timeoutMs);
    switch (next.kind) {
      case 'done':
        reportDone(deps, run, facts);
        return next.result;
      case 'unexpected':
        throw giveUpAfter(deps, run, facts, 'unexpected_response', next.detail);
      case 'pending':
        failedPollsInARow = 0;
        break;
      case 'retry':
        failedPollsInARow += 1;
        if (failedPollsInARow >= deps.maxAttempts) {
          throw giveUpAfter(deps, run, facts, 'max_attempts', `${failedPollsInARow} failed polls in a row`);
        }
        break;
    }
    await waitBeforeNextRequest(deps, run, facts, 'pending', run.polls - 1, retryAfterMs);
  }
}

/** One GET of the Location, and what its answer means. */
async function pollOnce(
  deps: ClientDeps,
  run: CheckoutRun,
  location: string,
  locationRetryAfterMs: number | undefined,
  timeoutMs: number,
): Promise<Poll> {
  const { now } = deps;
  run.polls += 1;
  const ex = await exchange('GET', location, timeoutMs, { headers: { accept: 'application/json', authorization: deps.authorization } });
  // A poll answer without its own Retry-After keeps the 202's: the server's pace holds until it says otherwise.
  const retryAfterMs = ex.ok ? (parseRetryAfter(ex.headers.get('retry-after'), now()) ?? locationRetryAfterMs) : locationRetryAfterMs;
  const verdict = ex.ok ? classifyPollAnswer(ex.status, ex.body) : ({ kind: 'retry' } as const);
  const paymentStatus = 'paymentStatus' in verdict ? verdict.paymentStatus : undefined;
  run.lastStatus = !ex.ok ? ex.error : paymentStatus === undefined ? ex.status : `${ex.status} ${paymentStatus}`;
  const facts: RequestFacts = {
    kind: 'poll',
    attempt: run.polls,
    method: 'GET',
    url: location,
    idempotencyKey: run.idempotencyKey,
    ...answerFacts(ex, retryAfterMs),
    ...(paymentStatus !== undefined ? { paymentStatus } : {}),
  };
  return { facts, retryAfterMs, next: ex.ok ? nextAfterPoll(verdict, ex, location, run) : { kind: 'retry' } };
}

function nextAfterPoll(verdict: PollVerdict, answer: Answer, location: string, run: CheckoutRun): PollNext {
  switch (verdict.kind) {
    case 'final':
      return { kind: 'done', result: checkoutResult(verdict.status, answer, run) };
    case 'unexpected':
      return { kind: 'unexpected', detail: `GET ${location} answered ${answer.status}` };
    default:
      return { kind: verdict.kind };
  }
}
