// How long each phase of a run lasts: the full run holds rates for 60 s as
// the performance targets ask (docs/performance.md); --quick shortens everything to finish in a few minutes.
export interface Durations {
  warmupMs: number;
  stepMs: number;
  confirmMs: number;
  /** the latency phase at half the maximum rate */
  latencyMs: number;
  settleMs: number;
  refine: number;
  soakMs: number;
}

export const FULL: Durations = { warmupMs: 10_000, stepMs: 10_000, confirmMs: 60_000, latencyMs: 60_000, settleMs: 3_000, refine: 2, soakMs: 10 * 60_000 };
export const QUICK: Durations = { warmupMs: 10_000, stepMs: 5_000, confirmMs: 15_000, latencyMs: 15_000, settleMs: 1_500, refine: 1, soakMs: 10 * 60_000 };
