// What the route handlers share, built once per stub and passed in, so the
// handlers stay plain functions and two stubs in one process never mix.
import type { Logger } from 'pino';
import type { CapacityEndpoint, CapacityGate } from './capacity';
import type { FaultController } from './faults';
import type { IdempotencyStore } from './idempotency';
import type { Ledger } from './ledger';

/** Counters kept by the routes; the ledger counts what was applied. */
export interface Counts {
  attempts: number;
  replays: number;
  faults_injected: number;
  declines: number;
}

export interface StubState {
  logger: Logger;
  faults: FaultController;
  ledger: Ledger;
  idempotency: IdempotencyStore;
  counts: Counts;
  /** The capacity model of each provider endpoint (off until PUT /faults sets it). */
  capacity: Record<CapacityEndpoint, CapacityGate>;
}
