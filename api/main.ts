// Runs the api process: `npm run start:api`. The wiring is buildApi's (api/build.ts);
// with API_EAGER_START (the default) the process also hosts a checkout worker
// and starts checkouts eagerly on it (worker/hosted-checkout-worker.ts).
import { Client } from '@temporalio/client';
import { loadApiConfig, loadWorkerConfig } from '../config';
import { openMigratedPool } from '../db/open';
import { createLogger, type Logger } from '../logger';
import { tracingClientInterceptors } from '../observability/temporal-client';
import { startTracing } from '../observability/tracing';
import { dataConverterOf } from '../temporal/data-converter';
import { createPool, type Pool } from '../db/pool';
import { hostCheckoutWorker, type HostedCheckoutWorker } from '../worker/hosted-checkout-worker';
import { createWorkerMetrics, type WorkerMetrics } from '../worker/metrics';
import { installSdkRuntime } from '../worker/sdk-runtime';
import { buildApi } from './build';
import { createApiMetrics } from './metrics';
import { connectApiToTemporal } from './temporal-connection';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const logger = createLogger('api', config.logLevel);
  // first: the Temporal clients and Workers made below take their tracing from it
  const tracing = startTracing({ serviceName: 'api', config: config.tracing });
  const pool = await openMigratedPool(config.database, config.databaseSession, logger);
  // one registry: the api's metrics and its hosted worker's (breaker, side effects, charge attempts, provider latency)
  const metrics = createApiMetrics();
  const sdkMetricsUrl = config.eagerStart ? (await installSdkRuntime(logger, { metricsPort: config.temporal.sdkMetricsPort })).metricsUrl : undefined;
  // the hosted worker's activities get a pool of their own: a slow database that holds their
  // connections must not leave the requests' pool empty (the requests have the database breaker)
  const workerPool = config.eagerStart
    ? createPool(config.database.url, config.database.poolSize, (err) => logger.warn({ err: err.message }, 'idle Postgres connection lost'), config.databaseSession.pool)
    : undefined;
  const hosted = workerPool ? await hostWorker(workerPool, logger, createWorkerMetrics(metrics.registry)) : undefined;
  const connection = hosted ? undefined : connectApiToTemporal(config.temporal.address, config.temporal.access);
  const client =
    hosted?.client ??
    new Client({ connection, namespace: config.temporal.namespace, dataConverter: dataConverterOf(config.temporal.dataProtection), interceptors: tracingClientInterceptors() });
  const built = buildApi(config, {
    client,
    pool,
    logger,
    eagerStart: hosted !== undefined,
    recordedOutcomes: config.resultWait === 'recording' ? hosted?.recordedOutcomes : undefined,
    metrics,
    sdkMetricsUrl,
  });
  // the server's timeouts and connection cap from config (API_HEADERS_TIMEOUT_MS, ...)
  const api = await built.listen(config.api.port, config.api.host);
  logger.info({ url: api.url, metricsUrl: `${api.metricsUrl}/metrics`, eagerStart: hosted !== undefined }, 'api listening');
  const stopSweeper = built.startOrphanSweeper();
  const stopDbBreaker = built.startDbBreaker();
  // a failed Worker would take eager starts it cannot run: exit, and let the supervisor restart the api
  const workerRun = hosted?.run().catch((err: unknown) => {
    logger.fatal({ err: (err as Error).message }, 'the hosted checkout worker failed; exiting');
    process.exit(1);
  });

  // Ctrl-C under npm start reaches this process and the supervisor's SIGTERM follows: one stop, not
  // two (a second server.close() throws ERR_SERVER_NOT_RUNNING)
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      logger.info({ signal }, 'api already stopping');
      return;
    }
    stopping = true;
    logger.info({ signal }, 'api stopping');
    stopSweeper();
    stopDbBreaker();
    // the requests held first, then the hosted Worker's tasks (within the worker's grace)
    await api.close();
    hosted?.shutdown();
    await workerRun;
    await hosted?.close();
    await connection?.close();
    await pool.end();
    await workerPool?.end();
    await tracing.shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

/**
 * The hosted checkout worker, or none when Temporal cannot be reached at
 * start: the api then serves on a lazy connection (starts not eager, 503 until
 * Temporal answers) rather than not at all; a restart brings the worker back.
 */
async function hostWorker(pool: Pool, logger: Logger, metrics: WorkerMetrics): Promise<HostedCheckoutWorker | undefined> {
  const started = Date.now();
  logger.info('starting the hosted checkout worker (bundling the workflow code)');
  try {
    const hosted = await hostCheckoutWorker(loadWorkerConfig(), { pool, logger, metrics });
    logger.info({ ms: Date.now() - started }, 'hosted checkout worker ready: checkouts start eagerly');
    return hosted;
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'could not start the hosted checkout worker; starting checkouts without eager start');
    return undefined;
  }
}

main().catch((err: unknown) => {
  console.error(`api failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
