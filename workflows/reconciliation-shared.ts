// Names, types and the retry shape that cross the reconciliation workflow /
// activity / api line. Imported by workflow code: no I/O, no Node built-ins.

export const RECONCILIATION_WORKFLOW_TYPE = 'reconciliation';

/** The Schedule's action arguments: the configuration of every tick's run. */
export interface ReconciliationInput {
  /** The Schedule (or a manual caller's) name; runs of one name chain their windows. */
  scheduleId: string;
  intervalMs: number;
  /** Charges younger than this are left to the next run: their checkout may still be recording. */
  settleMs: number;
  /** Each window starts this much before the previous one ended; findings are never reported twice. */
  overlapMs: number;
}

/** The window one run checks, fixed the first time its run row is written. */
export interface ReconciliationWindow {
  runId: string;
  /** ISO times; since inclusive, until exclusive. */
  since: string;
  until: string;
}

export type MismatchKind = 'charge_without_posting' | 'posting_without_charge' | 'amount_differs';

export interface ReconciliationSummary extends ReconciliationWindow {
  chargesChecked: number;
  postingsChecked: number;
  /** Findings this run recorded (a finding already recorded by an earlier run is not counted again). */
  mismatchesFound: number;
}

/**
 * Retry shape of the reconciliation activities; the activities jitter within
 * it (full jitter through nextRetryDelay). Bounded: a run that cannot finish
 * fails, and the next tick's window starts where the last finished run ended.
 */
export const RECONCILIATION_RETRY = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 30_000,
  maximumAttempts: 6,
};
