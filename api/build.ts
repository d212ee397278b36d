// The api process's wiring, used by api/main.ts and by the tests alike: the
// HTTP app with every route, its server's settings, and the orphan sweeper,
// from the api's config.
import type { Client } from '@temporalio/client';
import type express from 'express';
import type { ApiConfig } from '../config';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import { createApp } from './app';
import { startOrphanSweeper } from './orphan-sweeper';
import { listen, type RunningApi } from './server';

export interface ApiBuildDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
}

export interface BuiltApi {
  app: express.Express;
  /** The app on a server with the config's timeouts and connection cap (ApiConfig.server). */
  listen(port: number, host?: string): Promise<RunningApi>;
  /** Starts deleting pending rows whose workflow was never started; returns its stop. */
  startOrphanSweeper(): () => void;
}

export function buildApi(config: ApiConfig, deps: ApiBuildDeps): BuiltApi {
  const app = createApp({
    ...deps,
    taskQueue: config.temporal.taskQueue,
    apiBudgetMs: config.budgets.apiMs,
    rateLimitPerMinute: config.frontDoor.rateLimitPerMinute,
    maxInFlightCheckouts: config.frontDoor.maxInFlightCheckouts,
    webhookSecretRotationGraceMs: config.webhooks.secretRotationGraceMs,
    activityBudgets: {
      fraudMs: config.budgets.fraudMs,
      chargeMs: config.budgets.chargeMs,
      notifyMs: config.budgets.notifyMs,
      chargeTotalMs: config.chargeTotalMs,
      paymentPendingMaxMs: config.paymentRecording.pendingMaxMs,
      ledgerOldPolicyMaxAttempts: config.paymentRecording.oldPolicyMaxAttempts,
    },
  });
  const orphanAfterMs = config.frontDoor.orphanPaymentAfterMs;
  return {
    app,
    listen: (port, host) => listen(app, port, host, config.server),
    startOrphanSweeper: () =>
      startOrphanSweeper({ client: deps.client, pool: deps.pool, logger: deps.logger, staleAfterMs: orphanAfterMs }, Math.max(1_000, orphanAfterMs / 2)),
  };
}
