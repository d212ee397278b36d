// Figures from a phase's samples: percentiles, the answers by status, and
// latency per second of the phase for the chart.
import type { OpenLoadResult, Sample } from './open-load';

export interface PhaseFigures {
  offeredPerSecond: number;
  sent: number;
  /** answers with the expected status per second of the phase */
  achievedPerSecond: number;
  ok: number;
  errors: number;
  /** statuses and error messages other than the expected one, with counts */
  unexpected: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  sendLagP99Ms: number;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

export function figuresOf(result: OpenLoadResult, offeredPerSecond: number, expectedStatus: number): PhaseFigures {
  const latencies = result.samples.map((s) => s.latencyMs).sort((a, b) => a - b);
  const unexpected: Record<string, number> = {};
  let ok = 0;
  for (const s of result.samples) {
    if (s.status === expectedStatus) ok += 1;
    else {
      const label = s.status === 0 ? `error: ${s.error ?? 'unknown'}` : String(s.status);
      unexpected[label] = (unexpected[label] ?? 0) + 1;
    }
  }
  return {
    offeredPerSecond,
    sent: result.samples.length,
    achievedPerSecond: round((ok * 1000) / result.elapsedMs),
    ok,
    errors: result.samples.length - ok,
    unexpected,
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    p99Ms: round(percentile(latencies, 99)),
    maxMs: round(latencies[latencies.length - 1] ?? NaN),
    sendLagP99Ms: round(result.sendLagP99Ms),
  };
}

/** p50 and p99 of the requests due in each second of the phase: [second, ms] points. */
export function latencyPerSecond(samples: Sample[]): { p50: Array<[number, number]>; p99: Array<[number, number]> } {
  const buckets = new Map<number, number[]>();
  for (const s of samples) {
    const second = Math.floor(s.scheduledMs / 1000);
    const bucket = buckets.get(second) ?? [];
    bucket.push(s.latencyMs);
    buckets.set(second, bucket);
  }
  const seconds = [...buckets.keys()].sort((a, b) => a - b);
  const p50: Array<[number, number]> = [];
  const p99: Array<[number, number]> = [];
  for (const second of seconds) {
    const sorted = (buckets.get(second) as number[]).sort((a, b) => a - b);
    p50.push([second, round(percentile(sorted, 50))]);
    p99.push([second, round(percentile(sorted, 99))]);
  }
  return { p50, p99 };
}

export function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
