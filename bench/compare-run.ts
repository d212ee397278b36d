// Before/after in one run: each variant on a fresh stack, measured the same
// way (maximum sustained durable rate, then latency at one rate common to all
// variants, and the per-step breakdown), side by side with the first variant.
import type { Durations } from './durations';
import { breakDownLatency, type Breakdown } from './latency-breakdown';
import { freshCheckouts } from './checkout-requests';
import { cpuMeter, idleCpuPerSecond, perAnswer } from './process-cpu';
import { rssMiB } from './process-rss';
import { findMaxSustainedRate, runPhase, WARM_UP_RATE, type StepFigures } from './rate-search';
import { startStackFor } from './stack-for-variant';
import type { Variant } from './variants';

const PARTS = ['api', 'worker', 'temporal', 'postgres'] as const;

export interface VariantFigures {
  variant: string;
  summary: string;
  workerStartMs: number;
  maxRate: number;
  confirmed: boolean;
  atRate: StepFigures;
  /** CPU ms per answered checkout by part at the common rate, less idle: robust on a shared machine */
  cpuMsPerCheckout: Record<string, number>;
  /** resident memory after the fixed-rate phase */
  rssMiB: { api?: number; worker?: number };
  breakdown: Breakdown;
}

export async function runComparison(
  variants: Variant[],
  d: Durations,
  fixedRate: number | undefined,
  log: (line: string) => void,
  options: { search: boolean } = { search: true },
): Promise<{ rate: number; figures: VariantFigures[] }> {
  const figures: VariantFigures[] = [];
  let rate = fixedRate;
  for (const variant of variants) {
    log(`variant ${variant.name}: ${variant.summary}`);
    const stack = await startStackFor(variant, log);
    try {
      const target = { name: variant.name, origin: stack.apiUrl, request: freshCheckouts(variant.name, stack.apiKey), expectedStatus: 201, drained: () => stack.drained() };
      await runPhase({ ...target, name: `warm-up ${variant.name}` }, WARM_UP_RATE, d.warmupMs, log);
      await stack.drained();
      const search = options.search
        ? await findMaxSustainedRate(target, { startRate: 20, maxRate: 2_000, stepMs: d.stepMs, confirmMs: d.confirmMs, refine: d.refine, settleMs: d.settleMs, log })
        : { maxRate: 0, confirmation: undefined };
      // every variant's latency at the same offered rate: half the first variant's maximum
      rate ??= Math.max(1, Math.round(search.maxRate / 2));
      const pids = Object.fromEntries(PARTS.map((p) => [p, stack.pid(p)]));
      const idle = await idleCpuPerSecond(pids, 5_000);
      const meter = cpuMeter(pids);
      const { figures: atRate, result } = await runPhase(target, rate, d.latencyMs, log);
      const cpuMs = perAnswer(meter(), idle, d.latencyMs, atRate.ok);
      const breakdown = await breakDownLatency(stack.client, stack.merchantId, result.samples, 30);
      figures.push({
        variant: variant.name,
        summary: variant.summary,
        workerStartMs: stack.workerStartMs,
        maxRate: search.maxRate,
        confirmed: search.confirmation !== undefined,
        atRate,
        cpuMsPerCheckout: cpuMs,
        rssMiB: { api: rssMiB(stack.pid('api')), worker: rssMiB(stack.pid('worker')) },
        breakdown,
      });
    } finally {
      await stack.stop();
    }
  }
  return { rate: rate ?? 0, figures };
}
