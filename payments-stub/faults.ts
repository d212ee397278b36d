// Fault settings of the stub and the decision, per request, of which fault to inject.
import { z } from 'zod';

export const FAULT_MODES = ['ok', 'error', 'unavailable', 'hang', 'lost_response'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSettings {
  latency_ms: number;
  /** A share of requests that take tail_latency_ms instead of latency_ms: a slow tail (0.01 and 10 s: p99 10 s). */
  tail_rate: number;
  tail_latency_ms: number;
  /** Fraction of requests the mode hits; null means every request. */
  fail_rate: number | null;
  mode: FaultMode;
}

/** Body of PUT /faults: every field optional; null fail_rate goes back to "every request". */
export const faultUpdateSchema = z.strictObject({
  latency_ms: z.number().int().min(0).max(600_000).optional(),
  tail_rate: z.number().min(0).max(1).optional(),
  tail_latency_ms: z.number().int().min(0).max(600_000).optional(),
  fail_rate: z.number().min(0).max(1).nullable().optional(),
  mode: z.enum(FAULT_MODES).optional(),
});

export type FaultUpdate = z.infer<typeof faultUpdateSchema>;

export class FaultController {
  private settings: FaultSettings;
  // Resolvers of requests parked by `hang`, so they can be let go.
  private readonly hanging = new Set<() => void>();

  constructor(initial: FaultSettings) {
    this.settings = { ...initial };
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  update(patch: FaultUpdate): FaultSettings {
    this.settings = {
      latency_ms: patch.latency_ms ?? this.settings.latency_ms,
      tail_rate: patch.tail_rate ?? this.settings.tail_rate,
      tail_latency_ms: patch.tail_latency_ms ?? this.settings.tail_latency_ms,
      fail_rate: patch.fail_rate === undefined ? this.settings.fail_rate : patch.fail_rate,
      mode: patch.mode ?? this.settings.mode,
    };
    if (this.settings.mode !== 'hang') this.releaseHanging();
    return this.current;
  }

  /** The fault this request gets: the current mode for a `fail_rate` share of requests, else 'ok'. */
  pick(): FaultMode {
    const { mode, fail_rate } = this.settings;
    if (mode === 'ok') return 'ok';
    if (fail_rate !== null && Math.random() >= fail_rate) return 'ok';
    return mode;
  }

  /** How long this request takes before it is applied: latency_ms, or tail_latency_ms for a tail_rate share. */
  latency(): number {
    const { latency_ms, tail_rate, tail_latency_ms } = this.settings;
    return tail_rate > 0 && Math.random() < tail_rate ? tail_latency_ms : latency_ms;
  }

  /** Resolves once the mode is no longer `hang`, or the stub closes. */
  untilHangEnds(): Promise<void> {
    if (this.settings.mode !== 'hang') return Promise.resolve();
    return new Promise((resolve) => this.hanging.add(resolve));
  }

  releaseHanging(): void {
    for (const release of this.hanging) release();
    this.hanging.clear();
  }
}
