// The checkout use case: one idempotency key, one payment row, one workflow.
// It says what happened; the route (./route.ts) says it in HTTP.
import crypto from 'node:crypto';
import { WorkflowFailedError, type Client } from '@temporalio/client';
import type { ActivityBudgets, CheckoutInput, CheckoutOutcome, CheckoutRequest } from '../../domain/checkout';
import { checkoutOutcomeOf, renderCheckoutAnswer, type CheckoutAnswer } from '../../domain/checkout-answer';
import { checkoutWorkflowId } from '../../domain/ids';
import { markStartAttempt, type PaymentRow } from '../../db/payments';
import type { Pool } from '../../db/pool';
import { reservePendingPayment } from '../../db/rate-limit';
import { DeadlinePassed } from '../../errors';
import type { Logger } from '../../logger';
import { startOrAttachCheckout, type CheckoutHandle, type CheckoutStart } from '../../workflow-starts/checkout';
import { DEPENDENCY_BUDGET_MS, settledBy } from '../deadline';
import { fingerprintOf } from './schema';

export interface CheckoutDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
  taskQueue: string;
  activityBudgets: ActivityBudgets;
  /** new checkouts per (merchant, customer) per minute, counted in Postgres across every api instance; undefined: unlimited */
  rateLimitPerMinute?: number;
  /** new checkouts per API key per minute; undefined: unlimited */
  keyRateLimitPerMinute?: number;
  /** Start checkouts eagerly: the client is on a NativeConnection a checkout worker in this process shares. */
  eagerStart?: boolean;
  /** What the CustomerId search attribute holds for a customer id: its keyed hash (temporal/customer-search-value.ts). */
  customerSearchValue: (customerId: string) => string;
  /** Hears how each workflow start went (the api's checkout_workflow_starts_total). */
  onStart?: (start: CheckoutStart) => void;
  /**
   * Outcomes the hosted worker in this process commits, heard as they commit:
   * the answer without waiting for the workflow to complete and the long poll
   * to say so (API_RESULT_WAIT=recording). Absent: the long poll alone.
   */
  recordedOutcomes?: RecordedOutcomeSource;
  /** Hears where each outcome came from (the api's checkout_outcome_sources_total). */
  onOutcomeHeard?: (source: OutcomeSource) => void;
}

/** Where a request heard its checkout's outcome: the hosted worker's commit, or the result's long poll. */
export type OutcomeSource = 'recorded' | 'long_poll';

/** Where outcomes recorded in this process are heard (worker/recorded-outcomes.ts). */
export interface RecordedOutcomeSource {
  /** Settles when workflowId's outcome is recorded in this process; never otherwise. The signal ends the wait. */
  wait(workflowId: string, signal: AbortSignal): Promise<CheckoutOutcome>;
}

/** Who asks: the merchant the checkout is for, and the key it came with. */
export interface CheckoutCaller {
  merchantId: string;
  apiKeyId: string;
}

/** What a checkout request came to. */
export type CheckoutResult =
  /** The outcome's answer; replayed when an earlier request created the payment. */
  | { kind: 'answered'; answer: CheckoutAnswer; replayed: boolean; outcome: CheckoutOutcome['outcome'] | 'replayed' }
  /** Still running when the api's budget ended; the workflow goes on. */
  | { kind: 'pending'; paymentId: string }
  /** The customer, or the API key, is at its rate; nothing was written. */
  | { kind: 'rate_limited'; limit: 'customer' | 'key'; customerId: string; limitPerMinute: number; retryAfterMs: number }
  /** The key was used before with another body; nothing runs. */
  | { kind: 'key_reused' }
  /** Temporal could not be reached to start the workflow; nothing started. */
  | { kind: 'start_unavailable' }
  /** The workflow itself failed (a bug, not an outcome). */
  | { kind: 'workflow_failed' };

/**
 * The wait for the outcome ends this long before the budget, so the 202 has
 * left by the budget even when the process is busy (with the hosted worker,
 * the api runs the checkouts' tasks too): measured 70-200 ms late without it.
 */
export const ANSWER_MARGIN_MS = 250;

export function createCheckout(deps: CheckoutDeps) {
  return async function checkout(caller: CheckoutCaller, idempotencyKey: string, request: CheckoutRequest, deadline: number): Promise<CheckoutResult> {
    const { merchantId } = caller;
    const workflowId = checkoutWorkflowId(merchantId, idempotencyKey);
    const fingerprint = fingerprintOf(request);
    const log = deps.logger.child({ workflowId, merchantId, idempotencyKey });
    const dependencyDeadline = () => Math.min(deadline, Date.now() + DEPENDENCY_BUDGET_MS);

    const reservation = await reservePendingPayment(
      deps.pool,
      { merchantId, apiKeyId: caller.apiKeyId, paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`, idempotencyKey, workflowId, fingerprint, request },
      { perMinute: deps.rateLimitPerMinute, perKeyPerMinute: deps.keyRateLimitPerMinute, deadline: dependencyDeadline() },
    );
    if (reservation.kind === 'rate_limited') {
      log.info({ limit: reservation.limit, customerId: request.customer_id, retryAfterMs: reservation.retryAfterMs }, 'over a checkout rate; answering 429');
      return {
        kind: 'rate_limited',
        limit: reservation.limit,
        customerId: request.customer_id,
        limitPerMinute: reservation.perMinute,
        retryAfterMs: reservation.retryAfterMs,
      };
    }
    const { row, created } = reservation;
    if (row.fingerprint !== fingerprint) {
      log.warn('idempotency key reused with a different body');
      return { kind: 'key_reused' };
    }
    if (row.response_status !== null && row.response !== null) return storedAnswerOf(row);
    // A pending row from an earlier request may have no workflow (its start
    // failed). Marking this start attempt keeps the orphan sweeper off the row;
    // if the sweeper removed it first (or it just settled), start over.
    if (!created) {
      const marked = await markStartAttempt(deps.pool, row.payment_id, dependencyDeadline());
      if (!marked) return checkout(caller, idempotencyKey, request, deadline);
    }

    const input: CheckoutInput = {
      merchantId,
      paymentId: row.payment_id,
      idempotencyKey,
      request,
      createdAt: row.created_at.toISOString(),
      budgets: deps.activityBudgets,
    };
    // Listening before the start: an eager start's task may record before the start call returns.
    const listening = new AbortController();
    const recorded = deps.recordedOutcomes?.wait(workflowId, listening.signal);
    let outcome: CheckoutOutcome | undefined;
    try {
      // Its own short deadline: an unreachable Temporal is a fast 503, not a 3 s wait.
      const startDeadline = dependencyDeadline();
      let handle: CheckoutHandle;
      try {
        let start: CheckoutStart;
        ({ handle, start } = await settledBy(startDeadline, startOrAttachCheckout(deps.client, deps.taskQueue, workflowId, input, startDeadline, deps.eagerStart, deps.customerSearchValue(request.customer_id))));
        deps.onStart?.(start);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not start the checkout workflow');
        return { kind: 'start_unavailable' };
      }
      try {
        const heard = await resultWithin(deps.client, handle, deadline - ANSWER_MARGIN_MS, recorded);
        if (heard) deps.onOutcomeHeard?.(heard.source);
        outcome = heard?.outcome;
      } catch (err) {
        if (err instanceof WorkflowFailedError) return { kind: 'workflow_failed' };
        throw err;
      }
    } finally {
      listening.abort();
    }
    if (!outcome) {
      log.info('checkout still running past the api budget; answering 202');
      return { kind: 'pending', paymentId: row.payment_id };
    }
    log.info({ outcome: outcome.outcome }, 'checkout answered');
    // Only the request that created the payment gets the first-execution answer.
    const answer = renderCheckoutAnswer(outcome);
    return created
      ? { kind: 'answered', answer, replayed: false, outcome: outcome.outcome }
      : { kind: 'answered', answer, replayed: true, outcome: 'replayed' };
  };
}

/** The answer stored with the key: what the first request got. */
function storedAnswerOf(row: PaymentRow): CheckoutResult {
  const answer = { status: row.response_status ?? 500, body: row.response } as CheckoutAnswer;
  return { kind: 'answered', answer, replayed: true, outcome: 'replayed' };
}

/**
 * The workflow's outcome, or undefined when the deadline passes first (the
 * workflow goes on): from the result's long poll, or from `recorded` (the
 * hosted worker's commit) if that comes first, which ends the poll.
 */
async function resultWithin(
  client: Client,
  handle: CheckoutHandle,
  deadline: number,
  recorded?: Promise<CheckoutOutcome>,
): Promise<{ outcome: CheckoutOutcome; source: OutcomeSource } | undefined> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return undefined;
  const timeout = AbortSignal.timeout(remaining);
  const answered = new AbortController();
  const polled = client
    .withAbortSignal(AbortSignal.any([timeout, answered.signal]), () => handle.result())
    .then((result) => ({ outcome: checkoutOutcomeOf(result), source: 'long_poll' as const }));
  const heard = recorded?.then((outcome) => ({ outcome, source: 'recorded' as const }));
  try {
    return await settledBy(deadline, heard ? Promise.race([polled, heard]) : polled);
  } catch (err) {
    if (timeout.aborted || err instanceof DeadlinePassed) return undefined;
    throw err;
  } finally {
    // answered (or given up): the poll ends, and its rejection is nobody's concern
    answered.abort();
    polled.catch(() => undefined);
  }
}
