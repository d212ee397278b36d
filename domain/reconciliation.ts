// Names and types that cross the reconciliation workflow / activity / api
// line. Imported by workflow code: no I/O, no Node built-ins.

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
