// The api process's wiring, used by api/main.ts and by the tests alike: the
// HTTP app with every route, its server's settings, and the orphan sweeper,
// from the api's config.
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type express from 'express';
import client from 'prom-client';
import { pepperOf } from '../accounts/pepper';
import type { ApiConfig } from '../config';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import type { RecordedOutcomeSource } from './checkout/use-case';
import { registerPoolMetrics } from '../db/pool-metrics';
import { serveMetrics } from '../metrics-server';
import { checkWebhookTarget, systemResolver, type ResolveHost } from '../outbound/webhook-target';
import { customerSearchValue } from '../temporal/customer-search-value';
import { payloadCodecOf } from '../temporal/data-converter';
import { customerIdHashKeyOf } from '../temporal/payload-keys';
import { createApp } from './app';
import { DbGuard } from './db-guard';
import { observePool } from './observed-pool';
import { createApiMetrics, type ApiMetrics } from './metrics';
import { startOrphanSweeper } from './orphan-sweeper';
import { listen, type RunningApi } from './server';

export interface ApiBuildDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
  /** How webhook endpoint host names are resolved for the URL check; default the system's DNS. */
  resolveHost?: ResolveHost;
  /**
   * The client is on a NativeConnection shared with a checkout worker in this
   * process: start checkouts eagerly on it (API_EAGER_START).
   */
  eagerStart?: boolean;
  /** Outcomes that worker records, heard as they commit (API_RESULT_WAIT=recording). */
  recordedOutcomes?: RecordedOutcomeSource;
  /** The api's metrics, when the process made them first (its hosted worker counts on the same registry); default: new ones. */
  metrics?: ApiMetrics;
  /** The Temporal SDK exporter's /metrics, appended to the api's (worker/sdk-runtime.ts). */
  sdkMetricsUrl?: string;
}

export interface ListeningApi extends RunningApi {
  /** Where GET /metrics is served (API_METRICS_PORT), apart from the public port. */
  metricsUrl: string;
}

export interface BuiltApi {
  app: express.Express;
  /**
   * The app on a server with the config's timeouts and connection cap
   * (ApiConfig.server), and the metrics on config.api.metricsPort.
   */
  listen(port: number, host?: string): Promise<ListeningApi>;
  /** Starts deleting pending rows whose workflow was never started; returns its stop. */
  startOrphanSweeper(): () => void;
  /** Starts reporting to the shared database breaker (DB_BREAKER on; else nothing); returns its stop. */
  startDbBreaker(): () => void;
}

export function buildApi(config: ApiConfig, deps: ApiBuildDeps): BuiltApi {
  const metrics = deps.metrics ?? createApiMetrics();
  registerPoolMetrics(metrics.registry, deps.pool);
  const dbGuard = config.dbBreaker.enabled ? databaseBreaker(config, deps, metrics) : undefined;
  // CUSTOMER_ID_HASH_KEY, or development's in DATA_DIR; production refuses to start without it
  const hashKey = customerIdHashKeyOf(config.temporal.dataProtection);
  const app = createApp({
    ...deps,
    metrics,
    apiKeyPepper: pepperOf(config.apiKeys),
    customerSearchValue: (customerId) => customerSearchValue(hashKey, customerId),
    payloadCodec: payloadCodecOf(config.temporal.dataProtection),
    codecCorsOrigins: config.codecCorsOrigins,
    dbGuard,
    authFailuresPerMinute: config.apiKeys.authFailuresPerMinute,
    keyRateLimitPerMinute: config.apiKeys.keyRateLimitPerMinute,
    trustProxyHops: config.trustProxyHops,
    taskQueue: config.temporal.taskQueue,
    apiBudgetMs: config.budgets.apiMs,
    rateLimitPerMinute: config.frontDoor.rateLimitPerMinute,
    maxInFlightCheckouts: config.frontDoor.maxInFlightCheckouts,
    webhookSecretRotationGraceMs: config.webhooks.secretRotationGraceMs,
    checkWebhookTarget: (url) => checkWebhookTarget(url, { allowPrivateNetworks: config.webhookTargets.allowPrivateNetworks, resolve: deps.resolveHost ?? systemResolver }),
    webhookLimits: { maxEndpointsPerMerchant: config.webhooks.maxEndpointsPerMerchant, redeliveriesPerMinute: config.webhooks.redeliveriesPerMinute },
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
    async listen(port, host = config.api.host) {
      const api = await listen(app, port, host, config.server);
      const metricsServer = await serveMetrics(metrics.registry, config.api.metricsPort, host, { sdkMetricsUrl: deps.sdkMetricsUrl }).catch(async (err: unknown) => {
        await api.close();
        throw err;
      });
      const metricsPort = (metricsServer.address() as AddressInfo).port;
      return {
        ...api,
        metricsUrl: `http://${host}:${metricsPort}`,
        async close() {
          await api.close();
          metricsServer.closeAllConnections();
          await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
        },
      };
    },
    startDbBreaker: () => dbGuard?.start() ?? (() => {}),
    startOrphanSweeper: () =>
      startOrphanSweeper({ client: deps.client, pool: deps.pool, logger: deps.logger, staleAfterMs: orphanAfterMs }, Math.max(1_000, orphanAfterMs / 2)),
  };
}

/** The database breaker: every query of the pool counted, the state shared through Temporal, exported as a gauge. */
function databaseBreaker(config: ApiConfig, deps: ApiBuildDeps, metrics: ApiMetrics): DbGuard {
  const guard: DbGuard = new DbGuard({
    client: deps.client,
    pool: deps.pool,
    taskQueue: config.temporal.taskQueue,
    logger: deps.logger,
    config: config.dbBreaker.rules,
    syncMs: config.dbBreaker.syncMs,
    inFlight: {
      // the observer runs when a query ends, never before the guard exists
      queries: observePool(deps.pool, (ms, err, alreadySlow) => guard.observe(ms, err, alreadySlow)),
      // two kept for the probe and the orphan sweeper
      maxInUseWhileSlow: Math.max(1, config.database.poolSize - 2),
    },
  });
  new client.Gauge({
    name: 'db_breaker_state',
    help: 'The database breaker as this api acts on it: 0 closed, 1 half-open, 2 open',
    registers: [metrics.registry],
    collect() {
      this.set({ closed: 0, half_open: 1, open: 2 }[guard.state]);
    },
  });
  return guard;
}
