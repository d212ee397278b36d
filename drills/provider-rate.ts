// Samples the payments stub's /stats on a fixed beat, so a drill can tell how
// many calls the provider saw per second over time (docs/design.md, "Failure scenarios and drills", scenarios 7 and 8).
// An optional `extra` reading (e.g. the breaker's state) is taken with each sample.
import type { StubStats } from '../payments-stub/routes/stats';

export interface ProviderSample<E> {
  /** Seconds since sampling started. */
  t: number;
  /** The stub's POST /charges attempts so far. */
  attempts: number;
  /** every counter of GET /stats at that moment */
  stats: StubStats;
  extra: E;
}

export interface ProviderSampler<E> {
  readonly samples: ProviderSample<E>[];
  /** Stops after the sample in progress and returns every sample. */
  stop(): Promise<ProviderSample<E>[]>;
}

export function sampleProvider<E = undefined>(
  stubUrl: string,
  options: { intervalMs?: number; extra?: () => Promise<E> } = {},
): ProviderSampler<E> {
  const intervalMs = options.intervalMs ?? 250;
  const samples: ProviderSample<E>[] = [];
  const started = performance.now();
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i += 1) {
      // anchored to the start, so a slow sample does not shift every later one
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (!running) break;
      try {
        const [stats, extra] = await Promise.all([
          fetch(`${stubUrl}/stats`, { signal: AbortSignal.timeout(2_000) }).then((r) => r.json() as Promise<StubStats>),
          options.extra ? options.extra() : Promise.resolve(undefined as E),
        ]);
        samples.push({ t: (performance.now() - started) / 1000, attempts: stats.attempts, stats, extra });
      } catch {
        // a missed sample leaves a gap; the rate over the next one spans it
      }
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Attempts per second at each sample, over the trailing `windowS` seconds (0 for the first sample). */
export function attemptsPerSecond(samples: Array<{ t: number; attempts: number }>, windowS = 1): number[] {
  let from = 0;
  return samples.map((s, i) => {
    while (from < i && s.t - (samples[from + 1]?.t ?? s.t) >= windowS) from += 1;
    const first = samples[from] as { t: number; attempts: number };
    const span = s.t - first.t;
    return span > 0 ? (s.attempts - first.attempts) / span : 0;
  });
}
