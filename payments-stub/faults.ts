// Fault settings of the stub and the decision, per request, of which fault to inject.
import { z } from 'zod';

export const FAULT_MODES = ['ok', 'error', 'unavailable', 'hang', 'lost_response'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSettings {
  latency_ms: number;
  /** Fraction of requests the mode hits; null means every request. */
  fail_rate: number | null;
  mode: FaultMode;
}

/** Body of PUT /faults: every field optional; null fail_rate goes back to "every request". */
export const faultUpdateSchema = z.strictObject({
  latency_ms: z.number().int().min(0).max(600_000).optional(),
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
