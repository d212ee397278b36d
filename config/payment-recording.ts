import { z } from 'zod';
import { ConfigError } from '../errors';
import { ms, parse } from './read';

// ---- payment recording: waiting for an unreachable database (workflows/checkout.ts, activities/checkout) ----
// A recording step (ledger posting and payment row: completed, failed,
// refunded) that cannot reach Postgres waits for it instead of giving up: the
// payment stays pending (the api answers 202) and only a refusal by the data
// (SQLSTATE class 23, or the ledger's P0001) ends the step early and refunds.
//  - PAYMENT_PENDING_MAX_MS (api): how long each recording step keeps trying
//    (its schedule-to-close, no attempt cap); then a charged checkout refunds.
//    The api passes it in each workflow input with the activity budgets, so a
//    change applies to new checkouts only; an input without it keeps the old
//    policy. 0 turns the window off: the old policy for new checkouts too.
//  - LEDGER_OLD_POLICY_MAX_ATTEMPTS (api): the old policy's attempt cap (50:
//    at most about 7.5 minutes of waits at the default intervals, half that on
//    average with full jitter), used only without a window; the db-outage
//    drill lowers it to show the old policy giving up.
//  - LEDGER_RETRY_INITIAL_MS, LEDGER_RETRY_MAX_INTERVAL_MS (worker): the
//    full-jitter delays between attempts, which the activity computes and hands
//    Temporal as nextRetryDelay; the db-outage drill shortens them.
export const paymentRecordingApiVars = {
  PAYMENT_PENDING_MAX_MS: z.coerce.number().int().min(0).default(24 * 60 * 60 * 1000),
  LEDGER_OLD_POLICY_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(50),
};
export const paymentRecordingWorkerVars = {
  LEDGER_RETRY_INITIAL_MS: ms(200),
  LEDGER_RETRY_MAX_INTERVAL_MS: ms(10_000),
};

/** Every variable of the payment-recording group (the api reads PAYMENT_PENDING_MAX_MS and LEDGER_OLD_POLICY_MAX_ATTEMPTS, the worker LEDGER_RETRY_*). */
export const PAYMENT_RECORDING_VARIABLES: string[] = [...Object.keys(paymentRecordingApiVars), ...Object.keys(paymentRecordingWorkerVars)];

/** The api's part: what it passes in each workflow input's budgets. */
export interface PaymentRecordingConfig {
  /** paymentPendingMaxMs; 0: no pending window (the old policy). */
  pendingMaxMs: number;
  /** ledgerOldPolicyMaxAttempts. */
  oldPolicyMaxAttempts: number;
}

export function paymentRecordingOf(env: NodeJS.ProcessEnv): PaymentRecordingConfig {
  const e = parse(z.object(paymentRecordingApiVars), env);
  return { pendingMaxMs: e.PAYMENT_PENDING_MAX_MS, oldPolicyMaxAttempts: e.LEDGER_OLD_POLICY_MAX_ATTEMPTS };
}

export function ledgerRetryOf(env: NodeJS.ProcessEnv): { initialIntervalMs: number; maximumIntervalMs: number } {
  const e = parse(z.object(paymentRecordingWorkerVars), env);
  if (e.LEDGER_RETRY_MAX_INTERVAL_MS < e.LEDGER_RETRY_INITIAL_MS) {
    throw new ConfigError(
      `invalid configuration: LEDGER_RETRY_MAX_INTERVAL_MS (${e.LEDGER_RETRY_MAX_INTERVAL_MS}) must be at least LEDGER_RETRY_INITIAL_MS (${e.LEDGER_RETRY_INITIAL_MS})`,
    );
  }
  return { initialIntervalMs: e.LEDGER_RETRY_INITIAL_MS, maximumIntervalMs: e.LEDGER_RETRY_MAX_INTERVAL_MS };
}
