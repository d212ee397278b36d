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
 * The reconciliation activities, jittered by the activities. Bounded: a run
 * that cannot finish fails, and the next tick's window starts where the last
 * finished run ended.
 */
export const RECONCILIATION_RETRY = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 30_000,
  maximumAttempts: 6,
};
