// Which charge attempt this is, and whether an attempt's failure ends the
// charge, for payment_charge_attempts. The workflow runs the first attempt as
// a local activity and, if it may pass, the rest as a regular activity with
// attempts of its own from 1 (workflows/checkout.ts, firstAttemptLocally).
import { ApplicationFailure, type Info } from '@temporalio/activity';
import { DECLINE_FAILURES, FailureType, NON_RETRYABLE_FAILURES } from '../../errors';
import { CHARGE_RETRY } from '../../domain/retry-policies';

/**
 * The attempt across both: the local one is 1, the regular activity's n-th
 * attempt is n + 1. (A workflow from before the local first attempt counts
 * one too many; a local attempt run again after a crash is 1 again.)
 */
export function chargeAttemptNumber(info: Pick<Info, 'attempt' | 'isLocal'>): number {
  return info.isLocal ? info.attempt : info.attempt + 1;
}

export type ChargeEnd = 'declined' | 'gave_up';

/**
 * How a failed attempt ends the charge, or undefined when another attempt
 * follows: a decline; a final failure; or a regular attempt after which its
 * policy allows no other (the attempt cap, or the next attempt would start
 * past schedule-to-close).
 */
export function chargeEndOf(failure: unknown, info: Pick<Info, 'attempt' | 'isLocal' | 'scheduledTimestampMs' | 'scheduleToCloseTimeoutMs'>, nowMs: number): ChargeEnd | undefined {
  const type = failure instanceof ApplicationFailure ? (failure.type as FailureType | undefined) : undefined;
  if (type && type !== FailureType.FraudRejected && DECLINE_FAILURES.includes(type)) return 'declined';
  if (failure instanceof ApplicationFailure && (failure.nonRetryable || (type && NON_RETRYABLE_FAILURES.includes(type)))) return 'gave_up';
  // a local first attempt that may pass is followed by the regular activity
  if (info.isLocal) return undefined;
  if (info.attempt >= CHARGE_RETRY.maximumAttempts) return 'gave_up';
  const delay = failure instanceof ApplicationFailure ? failure.nextRetryDelay : undefined;
  const delayMs = typeof delay === 'number' ? delay : 0;
  const closesAt = info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : Infinity;
  return nowMs + delayMs >= closesAt ? 'gave_up' : undefined;
}
