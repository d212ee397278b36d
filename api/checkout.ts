// The checkout use case: one idempotency key, one payment row, one workflow.
import crypto from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import { markStartAttempt, reservePendingPayment, type PaymentRow } from '../db/payments-store';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import {
  checkoutWorkflowId,
  OUTCOME_HTTP_STATUS,
  SEARCH_ATTRIBUTES,
  type ActivityBudgets,
  type CheckoutInput,
  type CheckoutOutcome,
  type CheckoutRequest,
} from '../shared';
import type { checkout as checkoutWorkflow } from '../workflows';
import { fingerprintOf } from './checkout-schema';
import { DeadlinePassed, settledBy } from './deadline';
import { HttpError } from './http-error';

export interface CheckoutDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
  taskQueue: string;
  activityBudgets: ActivityBudgets;
  /** new checkouts per customer per minute, counted in Postgres across every api instance; undefined: unlimited */
  rateLimitPerMinute?: number;
}

export interface CheckoutAnswer {
  status: number;
  body: unknown;
  replayed: boolean;
  headers: Record<string, string>;
  /** for metrics: completed, declined, failed, replayed, pending */
  outcome: string;
}

/** How long a client should wait before polling a checkout still in progress, or retrying after a 503. */
const RETRY_AFTER_SECONDS = '1';

/**
 * A dependency that does not answer within this is down as far as the client
 * is concerned: 503 + Retry-After at once rather than spending the whole api budget.
 */
export const DEPENDENCY_BUDGET_MS = 1_000;

export function createCheckout(deps: CheckoutDeps) {
  return async function checkout(idempotencyKey: string, request: CheckoutRequest, deadline: number): Promise<CheckoutAnswer> {
    const workflowId = checkoutWorkflowId(idempotencyKey);
    const fingerprint = fingerprintOf(request);
    const log = deps.logger.child({ workflowId, idempotencyKey });

    const reservation = await reservePendingPayment(
      deps.pool,
      {
        paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
        idempotencyKey,
        workflowId,
        fingerprint,
        request,
      },
      { perMinute: deps.rateLimitPerMinute, deadline: Math.min(deadline, Date.now() + DEPENDENCY_BUDGET_MS) },
    );
    if (reservation.kind === 'rate_limited') {
      const retryAfter = Math.max(1, Math.ceil(reservation.retryAfterMs / 1000));
      log.info({ customerId: request.customer_id, retryAfter }, 'customer over its checkout rate; answering 429');
      throw new HttpError(
        429,
        'rate_limited',
        `customer ${request.customer_id} has reached ${deps.rateLimitPerMinute} new checkouts per minute; retry after ${retryAfter} s`,
        'customer_id',
        { 'Retry-After': String(retryAfter) },
      );
    }
    const { row, created } = reservation;
    if (row.fingerprint !== fingerprint) {
      log.warn('idempotency key reused with a different body');
      throw new HttpError(
        422,
        'idempotency_key_reused',
        'this Idempotency-Key was used with a different request body; use a new key for a new checkout',
        'Idempotency-Key',
      );
    }
    if (row.response_status !== null && row.response !== null) return replayOf(row);
    // A pending row from an earlier request may have no workflow (its start
    // failed). Marking this start attempt keeps the orphan sweeper off the row;
    // if the sweeper removed it first (or it just settled), start over.
    if (!created) {
      const marked = await markStartAttempt(deps.pool, row.payment_id, Math.min(deadline, Date.now() + DEPENDENCY_BUDGET_MS));
      if (!marked) return checkout(idempotencyKey, request, deadline);
    }

    const input: CheckoutInput = {
      paymentId: row.payment_id,
      idempotencyKey,
      request,
      createdAt: row.created_at.toISOString(),
      budgets: deps.activityBudgets,
    };
    const handle = await startOrAttach(deps, workflowId, input, deadline);
    const outcome = await resultWithin(deps.client, handle, deadline);
    if (!outcome) {
      log.info('checkout still running past the api budget; answering 202');
      return {
        status: 202,
        body: { payment_id: row.payment_id, status: 'pending' },
        replayed: false,
        headers: { Location: `/payments/${row.payment_id}`, 'Retry-After': RETRY_AFTER_SECONDS },
        outcome: 'pending',
      };
    }
    log.info({ outcome: outcome.outcome }, 'checkout answered');
    const status = OUTCOME_HTTP_STATUS[outcome.outcome];
    // Only the request that created the payment gets the first-execution answer.
    if (created) return { status, body: outcome.payment, replayed: false, headers: {}, outcome: outcome.outcome };
    return {
      status: status === 201 ? 200 : status,
      body: outcome.payment,
      replayed: true,
      headers: {},
      outcome: 'replayed',
    };
  };
}

function replayOf(row: PaymentRow): CheckoutAnswer {
  const status = row.response_status === 201 ? 200 : (row.response_status ?? 500);
  return { status, body: row.response, replayed: true, headers: {}, outcome: 'replayed' };
}

async function startOrAttach(
  deps: CheckoutDeps,
  workflowId: string,
  input: CheckoutInput,
  deadline: number,
): Promise<WorkflowHandle<typeof checkoutWorkflow>> {
  // Its own short deadline: an unreachable Temporal is a fast 503, not a 3 s wait.
  const startDeadline = Math.min(deadline, Date.now() + DEPENDENCY_BUDGET_MS);
  try {
    const starting = deps.client.withDeadline(startDeadline, () =>
      deps.client.workflow.start<typeof checkoutWorkflow>('checkout', {
        taskQueue: deps.taskQueue,
        workflowId,
        args: [input],
        // Never a second run for a key: a closed run is not replaced, a running one is joined.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.customerId, value: input.request.customer_id },
          { key: SEARCH_ATTRIBUTES.amountCents, value: input.request.amount_cents },
          { key: SEARCH_ATTRIBUTES.paymentStatus, value: 'pending' },
        ],
      }),
    );
    return await settledBy(startDeadline, starting);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      return deps.client.workflow.getHandle<typeof checkoutWorkflow>(workflowId);
    }
    throw new HttpError(503, 'temporarily_unavailable', 'could not start the checkout; retry with the same Idempotency-Key', undefined, {
      'Retry-After': RETRY_AFTER_SECONDS,
    });
  }
}

/** The workflow's outcome, or undefined when the deadline passes first (the workflow goes on). */
async function resultWithin(
  client: Client,
  handle: WorkflowHandle<typeof checkoutWorkflow>,
  deadline: number,
): Promise<CheckoutOutcome | undefined> {
  const remaining = deadline - Date.now();
  if (remaining <= 0) return undefined;
  const signal = AbortSignal.timeout(remaining);
  try {
    return await settledBy(deadline, client.withAbortSignal(signal, () => handle.result()));
  } catch (err) {
    if (signal.aborted || err instanceof DeadlinePassed) return undefined;
    if (err instanceof WorkflowFailedError) {
      throw new HttpError(500, 'checkout_failed', 'the checkout failed unexpectedly; it is safe to retry with the same Idempotency-Key');
    }
    throw err;
  }
}
