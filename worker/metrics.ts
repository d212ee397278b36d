// The worker side's Prometheus metrics, in the worker process and in the api
// process that hosts a checkout worker (on the api's registry): provider
// protection (breaker state and transitions, admitted calls, deferred
// retries), payment side effects applied, charge attempt numbers, provider
// request latency. Served on each process's /metrics.
import client from 'prom-client';
import type { CheckoutActivityMetrics } from '../activities';
import type { ProviderRequestDuration } from '../activities/provider-request-duration';
import type { BreakerState, ProtectionEvents } from '../db/provider-protection';
import type { Logger } from '../logger';

const BREAKER_STATE_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

export interface WorkerMetrics {
  registry: client.Registry;
  breakerTransitions: client.Counter<'provider' | 'from' | 'to'>;
  breakerState: client.Gauge<'provider'>;
  providerCalls: client.Counter<'provider' | 'kind' | 'probe'>;
  retriesDeferred: client.Counter<'provider'>;
  /** What the checkout activities count (activities/checkout/activities.ts). */
  checkout: CheckoutActivityMetrics;
  /** Around every HTTP call to the provider (its clients' requestDuration). */
  providerRequestDuration: ProviderRequestDuration;
}

/** On a registry of its own (the worker process), or on the api's when the api hosts a worker. */
export function createWorkerMetrics(registry?: client.Registry): WorkerMetrics {
  if (!registry) {
    registry = new client.Registry();
    client.collectDefaultMetrics({ register: registry });
  }
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
      help: 'Provider calls admitted by the breaker and retry budget, by kind (first or retry: kind="retry" is the retries the budget let through)',
      labelNames: ['provider', 'kind', 'probe'] as const,
      registers: [registry],
    }),
    retriesDeferred: new client.Counter({
      name: 'provider_retries_deferred_total',
      help: 'Retries deferred because the fleet retry budget was spent',
      labelNames: ['provider'] as const,
      registers: [registry],
    }),
    checkout: {
      sideEffectsApplied: new client.Counter({
        name: 'payment_side_effects_applied_total',
        help:
          'Provider effects recorded, once per payment: operation charge (outcome succeeded or declined) or refund (succeeded). ' +
          "Counted after the commit that first records it (the ledger posting, or the row's move to failed for a decline), never by a re-run; " +
          'per process (sum across api and workers); a crash between that commit and the count loses one',
        labelNames: ['operation', 'outcome'] as const,
        registers: [registry],
      }),
      chargeAttempts: new client.Histogram({
        name: 'payment_charge_attempts',
        help:
          'The charge attempt at which a payment was charged (succeeded), declined, or gave up (a final failure, or the last attempt its policy allows). ' +
          "Attempt 1 is the workflow's local first attempt; the regular activity that follows it counts its own attempts from 2",
        labelNames: ['outcome'] as const,
        buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20],
        registers: [registry],
      }),
    },
    providerRequestDuration: new client.Histogram({
      name: 'provider_request_duration_seconds',
      help: 'HTTP calls to the payment provider by operation (charge, refund, list_charges, list_refunds, lookup) and outcome (ok, declined, not_found, rate_limited, error_4xx, error_5xx, timeout, cancelled, network)',
      labelNames: ['provider', 'operation', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5],
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
