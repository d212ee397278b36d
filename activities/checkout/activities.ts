// The checkout's activities: all of its I/O. Each one is idempotent on its
// own, so Temporal may run it again after a crash or a timeout.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Counter, Histogram } from 'prom-client';
import { postCompletedCharge, postRefundedCharge } from '../../db/ledger';
import { markChargeAttempt, PaymentMissingError, recordPaymentOutcome } from '../../db/payments';
import { inTransaction, type Pool } from '../../db/pool';
import { insertPaymentEvent } from '../../db/webhooks-events';
import type { ProviderProtection } from '../../db/provider-protection';
import { DECLINE_CODES, FailureType } from '../../errors';
import type { Logger } from '../../logger';
import { CHARGE_RETRY, LEDGER_RETRY, REFUND_RETRY } from '../../domain/retry-policies';
import type { CheckoutOutcome, CheckoutRequest, CompletedOutcome, FailedOutcome, RefundedOutcome } from '../../domain/checkout';
import { checkoutOutcomeOf, renderCheckoutAnswer } from '../../domain/checkout-answer';
import type { ProviderCharge, ProviderRefund } from '../../domain/provider';
import { PaymentsProvider } from './payments-provider';
import { ProviderCallError } from '../../errors';
import { fullJitterDelayMs } from '../retry-delay';
import type { RetryDetails } from '../../domain/retry-policies';
import { chargeAttemptNumber, chargeEndOf } from './charge-attempts';

/** What the checkout activities count (worker/metrics.ts defines them). */
export interface CheckoutActivityMetrics {
  /** payment_side_effects_applied_total: counted once per payment, after the commit that first records the effect. */
  sideEffectsApplied: Pick<Counter<'operation' | 'outcome'>, 'inc'>;
  /** payment_charge_attempts: the attempt at which a charge succeeded, was declined or gave up. */
  chargeAttempts: Pick<Histogram<'outcome'>, 'observe'>;
}

export interface ActivityDeps {
  pool: Pool;
  provider: PaymentsProvider;
  /** Shared breaker and retry budget in front of every provider call. */
  protection: ProviderProtection;
  logger: Logger;
  /**
   * Hears each outcome a recording step has committed (the api's hosted
   * worker passes it on to the request waiting in the same process).
   */
  onRecorded?: (workflowId: string, outcome: CheckoutOutcome) => void;
  metrics?: CheckoutActivityMetrics;
  config: {
    fraudMaxAmountCents: number;
    chargeTimeoutMs: number;
    /** Test-only fault hook (CHECKOUT_CRASH_AFTER_LEDGER_COMMIT); never set in production. */
    crashAfterLedgerCommit?: boolean;
    /**
     * The full-jitter shape of the recording steps' waits for the database
     * (LEDGER_RETRY_INITIAL_MS, LEDGER_RETRY_MAX_INTERVAL_MS); LEDGER_RETRY's when absent.
     */
    ledgerRetry?: { initialIntervalMs: number; maximumIntervalMs: number };
  };
}

/**
 * A recording activity's input: the key and the workflow's outcome. Inputs
 * scheduled before the answer moved out of the workflow carry the rendered
 * body instead; checkoutOutcomeOf reads both.
 */
export type RecordInput<O> = { idempotencyKey: string } & O;

export interface ChargeInput {
  idempotencyKey: string;
  providerKey: string;
  request: CheckoutRequest;
}

const DECLINE_TYPES: Record<string, FailureType> = {
  card_declined: FailureType.CardDeclined,
  insufficient_funds: FailureType.InsufficientFunds,
};

// Leave the activity this much of its start-to-close to report a timeout
// itself, with a jittered retry delay, rather than being cut off by Temporal.
const TIMEOUT_MARGIN_MS = 100;

/** The provider call's whole-request timeout: inside this attempt's start-to-close, leaving the margin. */
function providerCallTimeoutMs(ctx: Context, chargeTimeoutMs: number): number {
  return Math.max(1, Math.min(chargeTimeoutMs, ctx.info.startToCloseTimeoutMs - TIMEOUT_MARGIN_MS));
}

export function createActivities({ pool, provider, protection, logger, config, onRecorded, metrics }: ActivityDeps) {
  const ledgerRetry = config.ledgerRetry ?? LEDGER_RETRY;

  /**
   * Runs one provider call through the shared breaker and retry budget. A
   * refusal touches nothing and becomes a retryable failure whose delay waits
   * out the breaker or spreads deferred retries, with jitter. The call's
   * outcome is then counted for the breaker; if Postgres fails just then, the
   * outcome stands all the same (a charge that went through is returned, so the
   * checkout goes on to record it and waits there for the database, rather than
   * charging again into the provider's idempotency on every retry).
   */
  async function guarded<T>(callKey: string, call: () => Promise<T>, log: Logger): Promise<T> {
    const admission = await protection.admit(callKey);
    if (!admission.admitted) {
      const open = admission.reason === 'breaker_open';
      // open: past the remaining open time, spread so a backlog does not arrive at once;
      // over budget: anywhere in the next window
      const spreadMs = open ? Math.min(10_000, Math.max(1_000, admission.retryAfterMs)) : admission.retryAfterMs;
      const delayMs = (open ? admission.retryAfterMs : 0) + 1 + Math.floor(Math.random() * spreadMs);
      log.warn({ reason: admission.reason, nextRetryDelayMs: delayMs }, 'provider call not admitted; waiting');
      throw ApplicationFailure.create({
        message: open ? 'provider circuit breaker is open' : 'provider retry budget exhausted; retry deferred',
        type: open ? FailureType.ProviderCircuitOpen : FailureType.RetryBudgetExhausted,
        nextRetryDelay: delayMs,
        details: [retryDetails(delayMs)],
      });
    }
    const recordOutcome = async (outcome: 'success' | 'failure') => {
      try {
        await protection.record(admission, outcome);
      } catch (err) {
        log.warn({ err: (err as Error).message, outcome }, "could not count the provider call's outcome for the breaker; the outcome stands");
      }
    };
    let result: T;
    try {
      result = await call();
    } catch (err) {
      // declines and other answers on purpose mean the provider is healthy
      const providerFailed = err instanceof ProviderCallError && err.retryable;
      await recordOutcome(providerFailed ? 'failure' : 'success');
      throw err;
    }
    await recordOutcome('success');
    return result;
  }

  function currentWorkflowId(): string {
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (!workflowId) throw ApplicationFailure.nonRetryable('checkout activities run only inside a workflow', FailureType.InvalidRequest);
    return workflowId;
  }

  function activityLogger(idempotencyKey: string): Logger {
    const info = Context.current().info;
    return logger.child({
      workflowId: info.workflowExecution?.workflowId,
      idempotencyKey,
      activity: info.activityType,
      attempt: info.attempt,
    });
  }

  return {
    /** Our own rules, before any money moves. */
    async checkFraud(input: { idempotencyKey: string; request: CheckoutRequest }): Promise<void> {
      if (input.request.amount_cents > config.fraudMaxAmountCents) {
        activityLogger(input.idempotencyKey).warn({ amount_cents: input.request.amount_cents }, 'fraud rules refused checkout');
        throw ApplicationFailure.nonRetryable(
          `amount ${input.request.amount_cents} exceeds the fraud limit ${config.fraudMaxAmountCents}`,
          FailureType.FraudRejected,
          { code: DECLINE_CODES[FailureType.FraudRejected] },
        );
      }
    },

    /**
     * Charges at the provider under a key of its own; the provider's idempotency makes a retry safe.
     * First stamps the payment row (charge_attempted_at): the orphan sweeper never deletes a row
     * whose charge may have been sent, and no charge is sent for a row that is gone.
     */
    async chargePayment(input: ChargeInput): Promise<ProviderCharge> {
      const ctx = Context.current();
      const log = activityLogger(input.idempotencyKey);
      const timeoutMs = providerCallTimeoutMs(ctx, config.chargeTimeoutMs);
      const attempt = chargeAttemptNumber(ctx.info);
      if (!(await markChargeAttempt(pool, currentWorkflowId()))) {
        log.error('the payment row is gone, or closed before any charge; not charging');
        metrics?.chargeAttempts.observe({ outcome: 'gave_up' }, attempt);
        throw ApplicationFailure.nonRetryable('the payment row is gone, or closed before any charge; no charge sent', FailureType.InvalidRequest);
      }
      try {
        const result = await guarded(
          input.providerKey,
          () => provider.charge({ idempotencyKey: input.providerKey, ...input.request }, timeoutMs, ctx.cancellationSignal),
          log,
        );
        if (result.kind === 'declined') {
          const type = DECLINE_TYPES[result.code] ?? FailureType.CardDeclined;
          log.info({ code: result.code }, 'provider declined the charge');
          throw ApplicationFailure.nonRetryable(`provider declined: ${result.code}`, type, { code: result.code });
        }
        log.info({ chargeId: result.charge.id }, 'charged');
        metrics?.chargeAttempts.observe({ outcome: 'succeeded' }, attempt);
        return result.charge;
      } catch (err) {
        const failure = providerFailure(err, CHARGE_RETRY, log);
        const end = chargeEndOf(failure, ctx.info, Date.now());
        if (end) metrics?.chargeAttempts.observe({ outcome: end }, attempt);
        throw failure;
      }
    },

    /** Compensation: refunds a charge under its own provider key (`<workflowId>:refund`). */
    async refundCharge(input: { idempotencyKey: string; providerKey: string; chargeId: string }): Promise<ProviderRefund> {
      const ctx = Context.current();
      const log = activityLogger(input.idempotencyKey);
      const timeoutMs = providerCallTimeoutMs(ctx, config.chargeTimeoutMs);
      try {
        const refund = await guarded(
          input.providerKey,
          () => provider.refund({ idempotencyKey: input.providerKey, chargeId: input.chargeId }, timeoutMs, ctx.cancellationSignal),
          log,
        );
        log.warn({ chargeId: input.chargeId, refundId: refund.id }, 'charge refunded (compensation)');
        return refund;
      } catch (err) {
        throw providerFailure(err, REFUND_RETRY, log);
      }
    },

    /**
     * A charged payment whose recording failed for good, refunded at the provider: in one
     * transaction the charge posting and its reversal, keyed (workflow ID, 'charge') and
     * (workflow ID, 'refund'), and the row `refunded` with its answer and outbox event.
     */
    async recordRefundedPayment(input: RecordInput<RefundedOutcome>): Promise<void> {
      const workflowId = currentWorkflowId();
      const log = activityLogger(input.idempotencyKey);
      const outcome = checkoutOutcomeOf(input) as RefundedOutcome;
      let result: Awaited<ReturnType<typeof postRefundedCharge>>;
      try {
        result = await postRefundedCharge(pool, { workflowId, payment: outcome.payment, answer: renderCheckoutAnswer(outcome) });
      } catch (err) {
        throw recordingFailure(err, ledgerRetry, log);
      }
      log.warn({ code: 'payment_reversed', chargePosted: result.chargePosted, reversalPosted: result.reversalPosted }, 'payment refunded');
      // each posting is inserted once per payment: a re-run after its commit finds it and counts nothing
      if (result.chargePosted) metrics?.sideEffectsApplied.inc({ operation: 'charge', outcome: 'succeeded' });
      if (result.reversalPosted) metrics?.sideEffectsApplied.inc({ operation: 'refund', outcome: 'succeeded' });
      onRecorded?.(workflowId, outcome);
    },

    /** Ledger posting and payment completion in one transaction, keyed (workflow ID, 'charge'). */
    async recordCompletedPayment(input: RecordInput<CompletedOutcome>): Promise<void> {
      const workflowId = currentWorkflowId();
      const outcome = checkoutOutcomeOf({ ...input, outcome: 'completed' }) as CompletedOutcome;
      let posted: boolean;
      try {
        ({ posted } = await postCompletedCharge(pool, { workflowId, payment: outcome.payment, answer: renderCheckoutAnswer(outcome) }));
      } catch (err) {
        throw recordingFailure(err, ledgerRetry, activityLogger(input.idempotencyKey));
      }
      activityLogger(input.idempotencyKey).info({ paymentId: outcome.payment.payment_id, posted }, 'ledger posting recorded');
      // the charge posting is inserted once per payment: a re-run after its commit finds it and counts nothing
      if (posted) metrics?.sideEffectsApplied.inc({ operation: 'charge', outcome: 'succeeded' });
      if (config.crashAfterLedgerCommit && posted) {
        // TEST-ONLY FAULT HOOK (docs/design.md, "Failure scenarios and drills"): die after
        // the commit and before Temporal hears the activity completed, so the
        // retry must find its posting (the inbox) and change nothing. Enabled
        // only by CHECKOUT_CRASH_AFTER_LEDGER_COMMIT in drills and tests.
        activityLogger(input.idempotencyKey).warn('test fault hook: killing the worker after the ledger commit');
        process.kill(process.pid, 'SIGKILL');
      }
      onRecorded?.(workflowId, outcome);
    },

    /** A declined or failed checkout: no ledger posting, the payment row ends `failed` with its answer. */
    async recordFailedPayment(input: RecordInput<FailedOutcome>): Promise<void> {
      const outcome = checkoutOutcomeOf(input) as FailedOutcome;
      const answer = renderCheckoutAnswer(outcome);
      const log = activityLogger(input.idempotencyKey);
      let moved: boolean;
      try {
        // the payment.failed webhook outbox row commits with the status
        moved = await inTransaction(pool, async (client) => {
          const { row, changed } = await recordPaymentOutcome(client, outcome.payment.payment_id, { status: 'failed', failureCode: outcome.code, answer });
          if (row.status === 'failed') await insertPaymentEvent(client, 'payment.failed', { ...answer.body });
          return changed;
        });
      } catch (err) {
        throw recordingFailure(err, ledgerRetry, log);
      }
      log.info({ code: outcome.code }, 'payment failed');
      // a provider decline, counted when the row left pending (once); our fraud rules' refusals are no provider effect
      if (moved && outcome.outcome === 'declined' && outcome.code !== DECLINE_CODES[FailureType.FraudRejected]) {
        metrics?.sideEffectsApplied.inc({ operation: 'charge', outcome: 'declined' });
      }
      onRecorded?.(currentWorkflowId(), outcome);
    },

    /** Best effort, at most once per payment: a failure here never fails the payment. */
    async notifyCustomer(input: { idempotencyKey: string; paymentId: string; kind: 'completed' | 'failed' }): Promise<void> {
      const res = await pool.query(
        'INSERT INTO notifications (payment_id, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [input.paymentId, input.kind],
      );
      if (res.rowCount) activityLogger(input.idempotencyKey).info({ kind: input.kind }, 'customer notified');
    },
  };
}

export type CheckoutActivities = ReturnType<typeof createActivities>;

/**
 * The wait a retryable failure asks for, also in its details: the workflow
 * does not see a failure's nextRetryDelay, and after a local first attempt it
 * waits this long itself before the regular activity (workflows/checkout.ts).
 */
function retryDetails(nextRetryDelayMs: number): RetryDetails {
  return { nextRetryDelayMs };
}

/** Provider errors as Temporal failures: retryable ones with a full-jitter delay that honours Retry-After. */
function providerFailure(err: unknown, policy: { initialIntervalMs: number; maximumIntervalMs: number }, log: Logger): unknown {
  if (!(err instanceof ProviderCallError)) return err;
  if (!err.retryable) {
    return ApplicationFailure.nonRetryable(err.message, FailureType.InvalidRequest, { status: err.status });
  }
  const delayMs = fullJitterDelayMs(Context.current().info.attempt, policy, err.retryAfterMs);
  log.warn({ err: err.message, nextRetryDelayMs: delayMs }, 'provider call failed; will retry');
  return ApplicationFailure.create({
    message: err.message,
    type: FailureType.ProviderUnavailable,
    nextRetryDelay: delayMs,
    details: [{ status: err.status, ...retryDetails(delayMs) }],
  });
}

/** The failure type of a recording step that will be tried again (the database did not answer, or failed). */
const RECORDING_UNAVAILABLE = 'RecordingDatabaseUnavailable';

/**
 * A recording step's error as a Temporal failure. A refusal by the data (an
 * integrity error, SQLSTATE class 23, or our balance check's P0001) fails the
 * same way every time: non-retryable LedgerRefused, and the workflow refunds.
 * A missing payment row cannot come back either. Anything else (connection
 * refused or lost, timeouts, Postgres restarting) is not a refusal: it is
 * retried after a full-jitter delay, for as long as the workflow's pending
 * window allows, while the payment stays pending.
 */
function recordingFailure(err: unknown, policy: { initialIntervalMs: number; maximumIntervalMs: number }, log: Logger): unknown {
  if (err instanceof ApplicationFailure) return err;
  const code = (err as { code?: unknown } | undefined)?.code;
  const message = (err as Error | undefined)?.message ?? String(err);
  if (typeof code === 'string' && (code.startsWith('23') || code === 'P0001')) {
    log.error({ sqlstate: code, err: message }, 'the database refused the recording');
    return ApplicationFailure.nonRetryable(`ledger refused the posting: ${message}`, FailureType.LedgerRefused, { sqlstate: code });
  }
  if (err instanceof PaymentMissingError) return ApplicationFailure.nonRetryable(message, FailureType.InvalidRequest);
  const delayMs = fullJitterDelayMs(Context.current().info.attempt, policy);
  log.warn({ err: message, code, nextRetryDelayMs: delayMs }, 'recording failed (database unreachable or failing); will retry, the payment stays pending');
  return ApplicationFailure.create({
    message,
    type: RECORDING_UNAVAILABLE,
    nextRetryDelay: delayMs,
    details: [{ code: typeof code === 'string' ? code : null, ...retryDetails(delayMs) }],
    cause: err instanceof Error ? err : undefined,
  });
}
