// Builds one stub: its state and the Express app with every route, in the
// order Express must see them (fallbacks last). server.ts does the listening.
import express from 'express';
import pino, { type Logger } from 'pino';
import { z } from 'zod';
import { CapacityGate } from './capacity';
import { FaultController, faultUpdateSchema, type FaultMode, type FaultSettings } from './faults';
import { IdempotencyStore } from './idempotency';
import { Ledger } from './ledger';
import { chargeRoutes } from './routes/charges';
import { fallbackRoutes } from './routes/fallbacks';
import { faultRoutes } from './routes/faults';
import { healthRoutes } from './routes/health';
import { refundRoutes } from './routes/refunds';
import { readStats, statsRoutes, type StubStats } from './routes/stats';
import type { StubState } from './state';

export interface StubOptions {
  /** 0 picks a free port. */
  port: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  latencyMs: number;
  /** Share of requests the fault mode hits; undefined means every request. */
  failRate?: number;
  faultMode: FaultMode;
  logger?: Logger;
}

export interface Stub {
  app: express.Express;
  faults: FaultController;
  ledger: Ledger;
  stats(): StubStats;
}

export function createStub(options: StubOptions): Stub {
  const state: StubState = {
    logger: options.logger ?? pino({ enabled: false }),
    faults: new FaultController(startFaults(options)),
    ledger: new Ledger(),
    idempotency: new IdempotencyStore(),
    counts: { attempts: 0, replays: 0, faults_injected: 0, declines: 0 },
    capacity: { charges: new CapacityGate(), refunds: new CapacityGate() },
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  healthRoutes(app);
  chargeRoutes(app, state);
  refundRoutes(app, state);
  statsRoutes(app, state);
  faultRoutes(app, state);
  fallbackRoutes(app, state.logger);

  return { app, faults: state.faults, ledger: state.ledger, stats: () => readStats(state) };
}

// Start options get the same checks as PUT /faults, so a stub never runs with settings it would refuse.
function startFaults(options: StubOptions): FaultSettings {
  const settings: FaultSettings = {
    latency_ms: options.latencyMs,
    tail_rate: 0,
    tail_latency_ms: 0,
    fail_rate: options.failRate ?? null,
    mode: options.faultMode,
  };
  const parsed = faultUpdateSchema.safeParse(settings);
  if (!parsed.success) throw new Error(`invalid payments stub options: ${z.prettifyError(parsed.error)}`);
  return settings;
}
