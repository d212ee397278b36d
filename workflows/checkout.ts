// The checkout workflow: deterministic orchestration only, no I/O. Every step
// it has passed is in its history, so a crash anywhere resumes from the last
// completed step.
import {
  ActivityFailure,
  ApplicationFailure,
  log,
  patched,
  type ActivityOptions,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CheckoutActivities } from '../activities/checkout/activities';
import { DECLINE_CODES, DECLINE_FAILURES, FailureType, NON_RETRYABLE_FAILURES } from '../errors';
import { CHARGE_RETRY, LEDGER_RETRY, REFUND_RETRY, type RetryDetails } from '../domain/retry-policies';
import {
  DEFAULT_ACTIVITY_BUDGETS,
  type ActivityBudgets,
  type CheckoutInput,
  type CheckoutOutcome,
  type CompletedOutcome,
  type FailedOutcome,
  type PaymentStatus,
  type RefundedOutcome,
} from '../domain/checkout';
import { providerKey } from '../domain/ids';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';

// Fraud rules, remote or local: a refusal is final, anything else a few quick retries.
const FRAUD_RETRY = {
  initialInterval: 100,
  backoffCoefficient: 2,
  maximumInterval: 1_000,
  maximumAttempts: 5,
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

function checkoutActivities(budgets: ActivityBudgets) {
  return {
    // Fraud rules: p99 200 ms x 2.5 (docs/design.md, "Timeout budget"); a refusal is final.
    fraud: proxyActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.fraudMs,
      retry: FRAUD_RETRY,
    }),
    // The same fraud rules as a local activity: our own code taking well under a
    // millisecond, run by the worker inside the workflow task, so it costs no
    // round trip through the server's task queue (docs/performance.md).
    fraudLocal: proxyLocalActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.fraudMs,
      retry: FRAUD_RETRY,
    }),
    // Provider charge: 2 s per attempt inside the 3 s api budget; retried with
    // full jitter (the activity sets nextRetryDelay, waiting out an open breaker
    // or a spent retry budget) until the total (default 1 h) ends the payment.
    charge: proxyActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.chargeMs,
      scheduleToCloseTimeout: budgets.chargeTotalMs ?? CHARGE_RETRY.scheduleToCloseMs,
      retry: {
        initialInterval: CHARGE_RETRY.initialIntervalMs,
        backoffCoefficient: 2,
        maximumInterval: CHARGE_RETRY.maximumIntervalMs,
        maximumAttempts: CHARGE_RETRY.maximumAttempts,
        nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
      },
    }),
    // Ledger and payment rows: idempotent by key, so retried patiently; money was
    // taken. docs/design.md, "Retry rules".
    ledger: proxyActivities<CheckoutActivities>(recordingOptions(budgets)),
    // Compensating refund: patient and jittered (by the activity); its own provider key.
    refund: proxyActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.chargeMs,
      retry: {
        initialInterval: REFUND_RETRY.initialIntervalMs,
        backoffCoefficient: 2,
        maximumInterval: REFUND_RETRY.maximumIntervalMs,
        maximumAttempts: REFUND_RETRY.maximumAttempts,
        nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
      },
    }),
    // Notification: best effort, 1 s, two tries, never fails the payment.
    notify: proxyActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.notifyMs,
      retry: { initialInterval: 200, maximumAttempts: 2 },
    }),
    // The same notification as a local activity: one short insert, best effort,
    // so it need not cost an activity task and a workflow task of its own on
    // the server (docs/performance.md).
    notifyLocal: proxyLocalActivities<CheckoutActivities>({
      startToCloseTimeout: budgets.notifyMs,
      retry: { initialInterval: 200, maximumAttempts: 2 },
    }),
    // First attempts of the charge and the recording steps, inside the workflow
    // task: a checkout that goes through first time is one workflow task. One
    // attempt each; a failure that may pass is retried by the regular
    // activity above, under its declared policy (firstAttemptLocally).
    firstAttempt: {
      charge: proxyLocalActivities<CheckoutActivities>({ startToCloseTimeout: budgets.chargeMs, retry: { maximumAttempts: 1 } }),
      ledger: proxyLocalActivities<CheckoutActivities>({ startToCloseTimeout: LEDGER_ATTEMPT_MS, retry: { maximumAttempts: 1 } }),
    },
  };
}

/** One recording attempt: a transaction of a few statements; a database that takes longer is waited for by the retries. */
const LEDGER_ATTEMPT_MS = 5_000;

/**
 * The recording steps' options. An unreachable database is not a refusal: the
 * activity turns every failure but a refusal by the data into a retryable one
 * with a full-jitter nextRetryDelay, and Temporal retries it for as long as the
 * payment may stay pending (`paymentPendingMaxMs`, schedule-to-close; no
 * attempt cap), the api answering 202 meanwhile. Only LedgerRefused (SQLSTATE
 * class 23, or the balance trigger's P0001) ends the step early. An input
 * from an older api carries no pending window and keeps the policy it was
 * started under: 50 attempts, then whatever failed ends the step (so does an
 * input whose window is 0: PAYMENT_PENDING_MAX_MS=0 turns the window off).
 *
 * Determinism: only the options of the same ScheduleActivityTask commands
 * change, never which commands are issued or in what order, so histories
 * recorded before this change replay unchanged (no patch needed).
 */
function recordingOptions(budgets: ActivityBudgets): ActivityOptions {
  const retry = {
    initialInterval: LEDGER_RETRY.initialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: LEDGER_RETRY.maximumIntervalMs,
    nonRetryableErrorTypes: [FailureType.LedgerRefused],
  };
  if (!budgets.paymentPendingMaxMs) {
    const maximumAttempts = budgets.ledgerOldPolicyMaxAttempts ?? LEDGER_RETRY.oldPolicyMaximumAttempts;
    return { startToCloseTimeout: LEDGER_ATTEMPT_MS, retry: { ...retry, maximumAttempts } };
  }
  return { startToCloseTimeout: LEDGER_ATTEMPT_MS, scheduleToCloseTimeout: budgets.paymentPendingMaxMs, retry };
}

/** Patch ID: the fraud check runs as a local activity from this version on. */
export const FRAUD_AS_LOCAL_ACTIVITY = 'fraud-check-local-activity';

/** Patch ID: notification as a local activity, no repeated 'pending' upsert at start. */
export const LEAN_NOTIFY = 'notify-local-activity';

/**
 * Patch ID: the first attempts of the charge and of the recording step run as
 * local activities, so a checkout that succeeds first time is one workflow
 * task (docs/performance.md, "One workflow task, started eagerly").
 */
export const ONE_TASK_HAPPY_PATH = 'one-task-happy-path';

export async function checkout(input: CheckoutInput): Promise<CheckoutOutcome> {
  const { workflowId } = workflowInfo();
  const { request, paymentId, idempotencyKey, createdAt } = input;
  const acts = checkoutActivities(input.budgets ?? DEFAULT_ACTIVITY_BUDGETS);
  // Histories recorded before this version replay what they did then: a
  // 'pending' upsert (the api already sets it at start) and a remote notification.
  const lean = patched(LEAN_NOTIFY);
  if (!lean) setPaymentStatus('pending');
  // Histories recorded before this version replay their regular activities.
  const oneTask = patched(ONE_TASK_HAPPY_PATH);
  const record = (step: (a: CheckoutActivities) => Promise<void>) =>
    oneTask ? firstAttemptLocally(step, acts.firstAttempt.ledger, acts.ledger) : step(acts.ledger);

  let chargeId: string;
  const facts = { payment_id: paymentId, amount_cents: request.amount_cents, currency: request.currency, created_at: createdAt };
  try {
    // Histories recorded before this change replay the remote activity they scheduled.
    if (patched(FRAUD_AS_LOCAL_ACTIVITY)) await acts.fraudLocal.checkFraud({ idempotencyKey, request });
    else await acts.fraud.checkFraud({ idempotencyKey, request });
    const chargeInput = { idempotencyKey, providerKey: providerKey(workflowId, 'charge'), request };
    const charge = oneTask
      ? await firstAttemptLocally((a) => a.chargePayment(chargeInput), acts.firstAttempt.charge, acts.charge)
      : await acts.charge.chargePayment(chargeInput);
    chargeId = charge.id;
  } catch (err) {
    const declineType = declineTypeOf(err);
    const outcome: FailedOutcome = declineType
      ? { outcome: 'declined', payment: facts, code: DECLINE_CODES[declineType] ?? 'card_declined' }
      : { outcome: 'failed', payment: facts, code: 'provider_unavailable' };
    if (!declineType) log.error('charge failed for good', { error: String(err) });
    await record((a) => a.recordFailedPayment({ idempotencyKey, ...outcome }));
    setPaymentStatus('failed');
    await notifyBestEffort(lean ? acts.notifyLocal : acts.notify, idempotencyKey, paymentId, 'failed');
    return outcome;
  }

  const payment = { ...facts, provider_charge_id: chargeId };
  // Compensation for the charge, registered before the step that may fail after
  // it. That step ends for good only when the database refuses the posting
  // (LedgerRefused) or, with Postgres unreachable all along, when the payment's
  // pending window ends (recordingOptions); then the money goes back. The
  // refund's record posts the charge and its reversal with the row, so the
  // ledger explains the money either way.
  const compensate = async (reason: unknown): Promise<CheckoutOutcome> => {
    log.error('recording the payment failed for good; refunding the charge', { error: String(reason) });
    await acts.refund.refundCharge({ idempotencyKey, providerKey: providerKey(workflowId, 'refund'), chargeId });
    const refunded: RefundedOutcome = { outcome: 'refunded', payment, code: 'payment_reversed' };
    await acts.ledger.recordRefundedPayment({ idempotencyKey, ...refunded });
    setPaymentStatus('refunded');
    await notifyBestEffort(lean ? acts.notifyLocal : acts.notify, idempotencyKey, paymentId, 'failed');
    return refunded;
  };
  const completed: CompletedOutcome = { outcome: 'completed', payment };
  try {
    await record((a) => a.recordCompletedPayment({ idempotencyKey, ...completed }));
  } catch (err) {
    return compensate(err);
  }
  setPaymentStatus('completed');
  await notifyBestEffort(lean ? acts.notifyLocal : acts.notify, idempotencyKey, paymentId, 'completed');
  return completed;
}

/**
 * A step's first attempt as a local activity, inside the workflow task; if it
 * fails in a way that may pass (a provider 5xx or timeout, an open breaker,
 * an unreachable database), the same step as a regular activity under its
 * declared policy: durable, jittered waits, visible in the Web UI, rate
 * limited by the task queue. A failure that is final (a decline, a refusal by
 * the ledger) is final at once. Both attempts carry the same idempotency keys,
 * so a local attempt that ran before a crash is found, not repeated.
 */
async function firstAttemptLocally<T>(
  step: (activities: CheckoutActivities) => Promise<T>,
  local: CheckoutActivities,
  regular: CheckoutActivities,
): Promise<T> {
  try {
    return await step(local);
  } catch (err) {
    if (isFinal(err)) throw err;
    // the wait the failure asks for (a Retry-After, an open breaker), as the regular activity's retries would
    const delayMs = requestedDelayMs(err);
    log.warn('first attempt failed; retrying as a regular activity', { error: String(err), delayMs });
    if (delayMs > 0) await sleep(delayMs);
    return step(regular);
  }
}

function requestedDelayMs(err: unknown): number {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (!(failure instanceof ApplicationFailure)) return 0;
  const delayMs = (failure.details?.[0] as Partial<RetryDetails> | undefined)?.nextRetryDelayMs;
  return typeof delayMs === 'number' && delayMs > 0 ? delayMs : 0;
}

function isFinal(err: unknown): boolean {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (!(failure instanceof ApplicationFailure)) return false;
  return failure.nonRetryable || NON_RETRYABLE_FAILURES.includes(failure.type as FailureType);
}

function setPaymentStatus(status: PaymentStatus): void {
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.paymentStatus, value: status }]);
}

async function notifyBestEffort(
  notify: ReturnType<typeof checkoutActivities>['notify'],
  idempotencyKey: string,
  paymentId: string,
  kind: 'completed' | 'failed',
): Promise<void> {
  try {
    await notify.notifyCustomer({ idempotencyKey, paymentId, kind });
  } catch (err) {
    log.warn('notification failed; the payment stands', { error: String(err) });
  }
}

function declineTypeOf(err: unknown): FailureType | undefined {
  // a remote activity's failure wraps the activity's ApplicationFailure; a local
  // activity's reaches the workflow as that ApplicationFailure itself
  const failure = err instanceof ActivityFailure ? err.cause : err;
  if (failure instanceof ApplicationFailure) {
    const type = failure.type as FailureType | undefined;
    if (type && DECLINE_FAILURES.includes(type)) return type;
  }
  return undefined;
}
