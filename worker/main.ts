// Wires and runs one worker process: `npm run start:worker`.
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { createActivities, PaymentsProvider } from '../activities';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { ProviderProtection } from '../db/provider-protection';
import { createPool } from '../db/pool';
import { createLogger } from '../logger';
import { createCheckoutWorker } from './create-worker';
import { createWorkerMetrics, protectionEvents, serveMetrics } from './metrics';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.logLevel);
  // the SDK's own logs as JSON lines too, through the same logger
  const sdkLog = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level as LogLevel];
      sdkLog[method](meta ?? {}, message);
    }),
  });
  const pool = createPool(config.database.url, config.database.poolSize, (err) =>
    logger.warn({ err: err.message }, 'idle Postgres connection lost'),
  );
  await migrate(pool);
  const provider = new PaymentsProvider({
    baseUrl: config.paymentsUrl,
    connectTimeoutMs: config.budgets.providerConnectMs,
  });
  const metrics = createWorkerMetrics();
  const metricsServer = await serveMetrics(metrics.registry, config.workerMetricsPort, config.api.host);
  const protection = new ProviderProtection(
    pool,
    'payments',
    { breaker: config.breaker, retryBudget: config.retryBudget, probeHoldMs: config.budgets.chargeMs + 1_000 },
    protectionEvents(logger, metrics),
  );
  const activities = createActivities({
    pool,
    provider,
    protection,
    logger,
    config: {
      fraudMaxAmountCents: config.fraudMaxAmountCents,
      chargeTimeoutMs: config.budgets.chargeMs,
      crashAfterLedgerCommit: config.crashAfterLedgerCommit,
    },
  });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createCheckoutWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    // server-side, for the whole task queue: bounds the provider rate of a draining backlog
    options: config.workerMaxActivitiesPerSecond > 0 ? { maxTaskQueueActivitiesPerSecond: config.workerMaxActivitiesPerSecond } : {},
  });
  logger.info(
    {
      temporal: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      maxActivitiesPerSecond: config.workerMaxActivitiesPerSecond || null,
    },
    'worker started',
  );
  // Worker.run() shuts down on SIGINT/SIGTERM by itself, finishing in-flight tasks.
  await worker.run();
  await connection.close();
  metricsServer.close();
  await provider.close();
  await pool.end();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(`worker failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
