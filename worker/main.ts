// Wires and runs one worker process: `npm run start:worker`.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { createActivities, createReconciliationActivities, PaymentsProvider, ProviderListings } from '../activities';
import { createWebhookActivities, createWebhookHttpAgent } from '../activities/webhooks/activities';
import { WebhookDispatcher } from './webhook-dispatcher';
import { webhookTaskQueue } from '../domain/webhooks';
import { loadConfig } from '../config';
import { migrate } from '../db/migrate';
import { ProviderProtection } from '../db/provider-protection';
import { createPool } from '../db/pool';
import { createLogger } from '../logger';
import { createCheckoutWorker, workerTuningOptions } from './create-worker';
import { createWebhookWorker } from './webhook-worker';
import { bundleWorkflowsInChildProcess } from './workflow-bundle';
import { createReconciliationMetrics, createWorkerMetrics, protectionEvents, serveMetrics } from './metrics';
import { ensureReconciliationSchedule } from './reconciliation-schedule';

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
  // reconciliation (issue 8): the provider's listings against the ledger, one run per Schedule tick
  const listings = new ProviderListings({ baseUrl: config.paymentsUrl, connectTimeoutMs: config.budgets.providerConnectMs });
  const reconciliationMetrics = createReconciliationMetrics(metrics.registry);
  const reconciliationActivities = createReconciliationActivities({
    pool,
    listings,
    logger,
    config: { httpTimeoutMs: config.reconciliation.httpTimeoutMs },
    onMismatch: (kind) => reconciliationMetrics.mismatches.inc({ kind }),
  });
  // webhooks out (issue 8): signed deliveries, and the dispatcher that feeds them from the outbox
  const webhookHttp = createWebhookHttpAgent(config.webhooks.connectTimeoutMs);
  const webhookActivities = createWebhookActivities({
    pool,
    http: webhookHttp,
    logger,
    config: {
      requestTimeoutMs: config.webhooks.requestTimeoutMs,
      schedule: { delaysMs: config.webhooks.retryDelaysMs, jitterRatio: config.webhooks.jitterRatio },
    },
  });
  // slots, cache, V8 context reuse, prebuilt bundle (docs/performance.md)
  const tuning = workerTuningOptions(config.workerTuning);
  let workflowBundle = tuning.workflowBundle;
  if (!workflowBundle) {
    const started = Date.now();
    logger.info('bundling the workflow code');
    workflowBundle = await bundleWorkflowsInChildProcess();
    logger.info({ ms: Date.now() - started, bytes: workflowBundle.code.length }, 'workflow code bundled');
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await createCheckoutWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: { ...activities, ...reconciliationActivities },
    // server-side, for the whole task queue: bounds the provider rate of a draining backlog
    options: {
      ...(config.workerMaxActivitiesPerSecond > 0 ? { maxTaskQueueActivitiesPerSecond: config.workerMaxActivitiesPerSecond } : {}),
      ...tuning,
      workflowBundle,
    },
  });
  // one client connection for the Schedule and the webhook dispatcher
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  // not fatal: this worker still runs checkouts, and any other worker (or its next start) ensures the Schedule
  await ensureReconciliationSchedule(client, { taskQueue: config.temporal.taskQueue, ...config.reconciliation }, logger).catch((err: unknown) =>
    logger.error({ err: (err as Error).message }, 'could not ensure the reconciliation schedule'),
  );
  logger.info(
    {
      temporal: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      maxActivitiesPerSecond: config.workerMaxActivitiesPerSecond || null,
    },
    'worker started',
  );
  const webhookWorker = await createWebhookWorker({
    connection,
    namespace: config.temporal.namespace,
    checkoutTaskQueue: config.temporal.taskQueue,
    activities: webhookActivities,
    options: { ...tuning, workflowBundle },
  });
  const webhookDispatcher = new WebhookDispatcher({
    pool,
    client,
    taskQueue: webhookTaskQueue(config.temporal.taskQueue),
    logger,
    config: config.webhooks.dispatch,
  });
  webhookDispatcher.start();
  // Worker.run() shuts down on SIGINT/SIGTERM by itself, finishing in-flight tasks.
  await Promise.all([worker.run(), webhookWorker.run()]);
  await webhookDispatcher.stop();
  await clientConnection.close();
  await webhookHttp.close();
  await connection.close();
  metricsServer.close();
  await provider.close();
  await listings.close();
  await pool.end();
  logger.info('worker stopped');
}

main().catch((err: unknown) => {
  console.error(`worker failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
