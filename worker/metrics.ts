// The worker's Prometheus metrics: provider protection (breaker state and
// transitions, admitted calls, deferred retries), served on /metrics.
import client from 'prom-client';
import type { BreakerState, ProtectionEvents } from '../db/provider-protection';
import type { Logger } from '../logger';

const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface WorkerMetrics {
  registry: client.Registry;
  breakerTransitions: client.Counter<'provider' | 'from' | 'to'>;
  breakerState: client.Gauge<'provider'>;
  providerCalls: client.Counter<'provider' | 'kind' | 'probe'>;
  retriesDeferred: client.Counter<'provider'>;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  return {
    registry,
    breakerTransitions: new client.Counter({
      name: 'provider_breaker_transitions_total',
      help: 'Circuit breaker state changes seen by this worker',
      labelNames: ['provider', 'from', 'to'] as const,
      registers: [registry],
    }),
    breakerState: new client.Gauge({
      name: 'provider_breaker_state',
      help: 'Last breaker state this worker saw: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    providerCalls: new client.Counter({
      name: 'provider_calls_admitted_total',
      help: 'Provider calls admitted by the breaker and retry budget, by kind (first or retry)',
      labelNames: ['provider', 'kind', 'probe'] as const,
      registers: [registry],
    }),
    retriesDeferred: new client.Counter({
      name: 'provider_retries_deferred_total',
      help: 'Retries deferred because the fleet retry budget was spent',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
  };
}

/** Logs every breaker change and counts it, with the other protection events. */
export function protectionEvents(logger: Logger, metrics: WorkerMetrics): ProtectionEvents {
  return {
    breakerChanged(provider, from, to) {
      logger.warn({ provider, from, to }, `provider circuit breaker ${from} -> ${to}`);
      metrics.breakerTransitions.inc({ provider, from, to });
      metrics.breakerState.set({ provider }, BREAKER_STATE_VALUE[to]);
    },
    retryDeferred(provider) {
      metrics.retriesDeferred.inc({ provider });
    },
    callAdmitted(provider, kind, probe) {
      metrics.providerCalls.inc({ provider, kind, probe: String(probe) });
    },
  };
}

/** Reconciliation findings, counted once each when first recorded (a retried or overlapping run adds nothing). */
export function createReconciliationMetrics(registry: client.Registry): { mismatches: client.Counter<'kind'> } {
  return {
    mismatches: new client.Counter({
      name: 'reconciliation_mismatches_total',
      help: 'Reconciliation mismatches recorded by this worker, by kind (charge_without_posting, posting_without_charge, amount_differs)',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}
