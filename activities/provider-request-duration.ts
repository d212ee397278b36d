// How long each HTTP call to the provider took and how it ended, for the
// provider's clients (checkout/payments-provider.ts, reconciliation/provider-listings.ts).
// Outcomes are a small fixed set, so the histogram's label values stay bounded.
import type { Histogram } from 'prom-client';

export type ProviderRequestDuration = Pick<Histogram<'provider' | 'operation' | 'outcome'>, 'observe'>;

/** What a client is given: the histogram and the provider name its series carry. */
export interface ProviderRequestTiming {
  histogram: ProviderRequestDuration;
  provider: string;
}

export type ProviderRequestOutcome = 'ok' | 'declined' | 'not_found' | 'rate_limited' | 'error_4xx' | 'error_5xx' | 'timeout' | 'cancelled' | 'network';

/** The outcome of a call the provider answered. */
export function outcomeOfStatus(status: number): ProviderRequestOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 402) return 'declined';
  if (status === 404) return 'not_found';
  if (status === 429) return 'rate_limited';
  return status >= 500 ? 'error_5xx' : 'error_4xx';
}

/** Starts timing one call; the returned function records it with how it ended (no-op without timing). */
export function startProviderRequest(timing: ProviderRequestTiming | undefined, operation: string): (outcome: ProviderRequestOutcome) => void {
  if (!timing) return () => undefined;
  const started = process.hrtime.bigint();
  return (outcome) => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    timing.histogram.observe({ provider: timing.provider, operation, outcome }, seconds);
  };
}
