// GET /stats: what the stub saw, so tests and drills can check how many
// charges reached the provider and how many were applied.
import type { Express } from 'express';
import type { CapacityEndpoint, CapacityStats } from '../capacity';
import type { StubState } from '../state';

export interface StubStats {
  /** Every POST /charges received, faulted or not. */
  attempts: number;
  charges_applied: number;
  /** Answers served from an idempotency key instead of new work. */
  replays: number;
  faults_injected: number;
  refunds_applied: number;
  declines: number;
  /** Each endpoint's capacity model: in service, queued, shed, served, served after the caller left. */
  capacity: Record<CapacityEndpoint, CapacityStats>;
}

export function readStats(state: Pick<StubState, 'counts' | 'ledger' | 'capacity'>): StubStats {
  return {
    ...state.counts,
    capacity: { charges: state.capacity.charges.stats(), refunds: state.capacity.refunds.stats() },
    charges_applied: state.ledger.chargeCount,
    refunds_applied: state.ledger.refundCount,
  };
}

export function statsRoutes(app: Express, state: Pick<StubState, 'counts' | 'ledger' | 'capacity'>): void {
  app.get('/stats', (_req, res) => {
    res.json(readStats(state));
  });
}
