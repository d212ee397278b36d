// Retry shapes that both a workflow (the policy it declares) and an activity
// (the jitter it computes within that policy) need. Pure data.

/**
 * The provider charge; the activity jitters within it (full jitter). The total
 * time bounds it (waits for an open breaker or a deferred retry count as
 * attempts, so the attempt cap is only a backstop).
 */
export const CHARGE_RETRY = {
  initialIntervalMs: 200,
  maximumIntervalMs: 30_000,
  maximumAttempts: 1_000,
  /** After this the payment fails for good with a reason. */
  scheduleToCloseMs: 60 * 60 * 1000,
};

/** The compensating refund: patient, money is out until it lands. */
export const REFUND_RETRY = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 60_000,
  maximumAttempts: 100,
};

/**
 * The recording steps (ledger posting and payment row: completed, failed,
 * refunded). An unreachable or failing database is waited for, not taken as a
 * refusal: the activity jitters within this shape (full jitter, passed as
 * nextRetryDelay; the worker may configure the intervals) and Temporal retries
 * until the payment's pending window (`ActivityBudgets.paymentPendingMaxMs`)
 * ends. Only a refusal by the data (LedgerRefused) ends a step early.
 */
export const LEDGER_RETRY = {
  initialIntervalMs: 200,
  maximumIntervalMs: 10_000,
  /**
   * The policy before the pending window existed, kept for workflow inputs
   * with no pending window (started by an older api, or PAYMENT_PENDING_MAX_MS
   * set to 0): at most this many attempts (`ActivityBudgets.ledgerOldPolicyMaxAttempts`
   * when given), then whatever failed ends the step and the checkout compensates.
   */
  oldPolicyMaximumAttempts: 50,
};

/**
 * The reconciliation activities, jittered by the activities. Bounded: a run
 * that cannot finish fails, and the next tick's window starts where the last
 * finished run ended.
 */
export const RECONCILIATION_RETRY = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 30_000,
  maximumAttempts: 6,
};

/**
 * What a retryable activity failure carries in its first detail: the wait it
 * asks for. Temporal applies a failure's nextRetryDelay between attempts of
 * one activity, but workflow code does not see it, so a workflow that moves
 * from a local first attempt to a regular activity waits it from here.
 */
export interface RetryDetails {
  nextRetryDelayMs: number;
}
