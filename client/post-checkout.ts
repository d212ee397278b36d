// POST /checkout until an answer ends the checkout or a 202 says where to
// follow it. A lost request or an answer that says "later" is sent again
// unchanged: the same key finds the same checkout on the server.
import { checkoutResult, classifyCheckoutAnswer, type Answer, type Verdict } from './answer';
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
import { exchange, type FrozenRequest } from './exchange';
import { parseRetryAfter } from './retry-wait';
import type { CheckoutResult } from './types';

/** What one POST leads to. */
type PostNext =
  | { kind: 'done'; result: CheckoutResult }
  | { kind: 'follow'; location: string }
  | { kind: 'retry' }
  | { kind: 'unexpected'; detail: string };

interface Post {
  facts: RequestFacts;
  retryAfterMs: number | undefined;
  next: PostNext;
}

type Posted = { kind: 'done'; result: CheckoutResult } | { kind: 'follow'; location: string; retryAfterMs: number | undefined };

/** POSTs until an answer ends the checkout or a 202 names where to look (and its first wait is over). */
export async function postUntilAnswered(deps: ClientDeps, run: CheckoutRun, frozen: FrozenRequest): Promise<Posted> {
  for (;;) {
    const timeoutMs = nextRequestTimeoutMs(deps, run);
    const { facts, retryAfterMs, next } = await postOnce(deps, run, frozen, timeoutMs);
    switch (next.kind) {
      case 'done':
        reportDone(deps, run, facts);
        return next;
      case 'follow':
        await waitBeforeNextRequest(deps, run, facts, 'follow', 0, retryAfterMs);
        return { ...next, retryAfterMs };
      case 'unexpected':
        throw giveUpAfter(deps, run, facts, 'unexpected_response', next.detail);
      case 'retry':
        if (run.attempts >= deps.maxAttempts) {
          throw giveUpAfter(deps, run, facts, 'max_attempts', `maxAttempts ${deps.maxAttempts} reached`);
        }
        await waitBeforeNextRequest(deps, run, facts, 'retry', run.attempts - 1, retryAfterMs);
    }
  }
}

/** One POST of the frozen request, and what its answer means. */
async function postOnce(deps: ClientDeps, run: CheckoutRun, frozen: FrozenRequest, timeoutMs: number): Promise<Post> {
  const { now } = deps;
  run.attempts += 1;
  const ex = await exchange('POST', frozen.url, timeoutMs, frozen);
  run.lastStatus = ex.ok ? ex.status : ex.error;
  const retryAfterMs = ex.ok ? parseRetryAfter(ex.headers.get('retry-after'), now()) : undefined;
  const facts: RequestFacts = {
    kind: 'checkout',
    attempt: run.attempts,
    method: 'POST',
    url: frozen.url,
    idempotencyKey: run.idempotencyKey,
    ...answerFacts(ex, retryAfterMs),
  };
  const next = ex.ok ? nextAfterPost(classifyCheckoutAnswer(ex.status, ex.body, ex.headers), ex, frozen.url, run) : { kind: 'retry' as const };
  return { facts, retryAfterMs, next };
}

function nextAfterPost(verdict: Verdict, answer: Answer, checkoutUrl: string, run: CheckoutRun): PostNext {
  switch (verdict.kind) {
    case 'final':
      return { kind: 'done', result: checkoutResult(verdict.status, answer, run) };
    case 'follow': {
      const location = new URL(verdict.location, checkoutUrl);
      // the API key goes to the api's origin only, whatever a Location says
      if (location.origin !== new URL(checkoutUrl).origin) {
        return { kind: 'unexpected', detail: `202 Location ${location.href} is on another origin; not sending the API key there` };
      }
      return { kind: 'follow', location: location.toString() };
    }
    default:
      return verdict;
  }
}
