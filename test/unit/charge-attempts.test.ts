// The attempt number payment_charge_attempts records, and when a failed
// attempt ends the charge: the local first attempt and the regular activity
// that follows it count as one sequence.
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { chargeAttemptNumber, chargeEndOf } from '../../activities/checkout/charge-attempts';
import { CHARGE_RETRY } from '../../domain/retry-policies';
import { FailureType } from '../../errors';

const HOUR = 3_600_000;
const regular = (attempt: number) => ({ attempt, isLocal: false, scheduledTimestampMs: 0, scheduleToCloseTimeoutMs: HOUR });
const local = { attempt: 1, isLocal: true, scheduledTimestampMs: 0, scheduleToCloseTimeoutMs: 0 };
const unavailable = (delayMs: number) => ApplicationFailure.create({ message: '503', type: FailureType.ProviderUnavailable, nextRetryDelay: delayMs });

describe('chargeAttemptNumber', () => {
  it('the local first attempt is 1; the regular activity after it counts from 2', () => {
    expect(chargeAttemptNumber(local)).toBe(1);
    expect(chargeAttemptNumber(regular(1))).toBe(2);
    expect(chargeAttemptNumber(regular(3))).toBe(4);
  });
});

describe('chargeEndOf', () => {
  it('a decline ends the charge as declined, local or not', () => {
    const declined = ApplicationFailure.nonRetryable('declined', FailureType.CardDeclined);
    expect(chargeEndOf(declined, local, 0)).toBe('declined');
    expect(chargeEndOf(ApplicationFailure.nonRetryable('no funds', FailureType.InsufficientFunds), regular(2), 0)).toBe('declined');
  });

  it('a final failure gives up', () => {
    expect(chargeEndOf(ApplicationFailure.nonRetryable('400', FailureType.InvalidRequest), local, 0)).toBe('gave_up');
  });

  it('a failure that may pass: the local attempt is followed by the regular activity, which retries within its policy', () => {
    expect(chargeEndOf(unavailable(1_000), local, 0)).toBeUndefined();
    expect(chargeEndOf(unavailable(1_000), regular(5), 10_000)).toBeUndefined();
    expect(chargeEndOf(new Error('connection reset'), regular(5), 10_000)).toBeUndefined();
  });

  it('gives up at the attempt cap, or when the next attempt would start past schedule-to-close', () => {
    expect(chargeEndOf(unavailable(1_000), regular(CHARGE_RETRY.maximumAttempts), 0)).toBe('gave_up');
    expect(chargeEndOf(unavailable(30_000), regular(40), HOUR - 10_000)).toBe('gave_up');
    expect(chargeEndOf(unavailable(5_000), regular(40), HOUR - 10_000)).toBeUndefined();
  });
});
