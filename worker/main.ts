// Runs one worker process: `npm run start:worker`. The wiring is buildWorker's
// (worker/build.ts); this adds what only a real process has: the SDK's logs as
// JSON lines and its metrics, migrations, the metrics port (ours, the pool's,
// the backlog's and the SDK's), one bundle for both Workers, the
// reconciliation Schedule, and the drain on SIGTERM/SIGINT (a deploy's stop):
// the webhook dispatcher stops first, then in-flight tasks finish within
// WORKER_SHUTDOWN_GRACE_MS, and the process exits 0.
import type { AddressInfo } from 'node:net';
import { NativeConnection } from '@temporalio/worker';
import { loadWorkerConfig } from '../config';
import { openMigratedPool } from '../db/open';
import { createLogger } from '../logger';
import { tracingClientInterceptors } from '../observability/temporal-client';
import { startTracing } from '../observability/tracing';
import { connectTemporalClient } from '../temporal/client';
import { connectionOptionsOf } from '../temporal/connection-options';
import { buildWorker, type BuiltWorker } from './build';
import { installSdkRuntime } from './sdk-runtime';
import { serveMetrics } from '../metrics-server';
import { registerPoolMetrics } from '../db/pool-metrics';
import { registerBacklogMetrics } from './backlog-metrics';
import { createReconciliationMetrics, createWorkerMetrics } from './metrics';
import { ensureReconciliationSchedule } from './reconciliation-schedule';
import { bundleWorkflowsInChildProcess } from './workflow-bundle';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger('worker', config.logLevel);
  // first: the Temporal client and Workers made below take their tracing from it
  const tracing = startTracing({ serviceName: 'worker', config: config.tracing });
  // the SDK's own logs as JSON lines too, through the same logger, and its metrics on loopback;
  // signals are ours (below): the SDK's own handling would stop the Workers before the dispatcher
  const sdk = await installSdkRuntime(logger, { metricsPort: config.temporal.sdkMetricsPort });

  // A signal before the Workers run has nothing in flight: exit. After, drain (once: a Ctrl-C
  // reaches this process and npm start's SIGTERM follows; neither cuts the grace short).
  const built: { worker?: BuiltWorker; stopping?: { signal: NodeJS.Signals; at: number } } = {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (built.stopping) {
      logger.info({ signal }, 'already draining');
      return;
    }
    built.stopping = { signal, at: Date.now() };
    if (!built.worker) {
      logger.info({ signal }, 'worker stopping before it started');
      process.exit(0);
    }
    logger.info({ signal, graceMs: config.shutdown.graceMs }, 'worker draining: webhook dispatcher first, then in-flight tasks');
    built.worker.shutdown();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const pool = await openMigratedPool(config.database, config.databaseSession, logger);
  const metrics = createWorkerMetrics();
  registerPoolMetrics(metrics.registry, pool);
  const metricsServer = await serveMetrics(metrics.registry, config.workerMetricsPort, config.host, { sdkMetricsUrl: sdk.metricsUrl });
  const reconciliationMetrics = createReconciliationMetrics(metrics.registry);

  // one bundle for both Workers, built in a child process unless a prebuilt one is configured
  let workflowBundle: { code: string } | undefined;
  if (!config.workerTuning.workflowBundlePath) {
    const started = Date.now();
    logger.info('bundling the workflow code');
    workflowBundle = await bundleWorkflowsInChildProcess();
    logger.info({ ms: Date.now() - started, bytes: workflowBundle.code.length }, 'workflow code bundled');
  }
  const connection = await NativeConnection.connect(connectionOptionsOf(config.temporal));
  // one client connection for the Schedule and the webhook dispatcher
  const client = await connectTemporalClient(config.temporal, { interceptors: tracingClientInterceptors() });
  const worker = await buildWorker(config, {
    connection,
    client,
    pool,
    logger,
    metrics,
    onReconciliationMismatch: (kind) => reconciliationMetrics.mismatches.inc({ kind }),
    workflowBundle,
  });
  // from here a signal drains
  built.worker = worker;
  // the fleet's backlog, read at scrape time (workers only: the same figures from each)
  registerBacklogMetrics(metrics.registry, { pool, logger, protection: worker.protection });
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
      metricsUrl: `http://${config.host}:${(metricsServer.address() as AddressInfo).port}/metrics`,
    },
    'worker started',
  );
  if (built.stopping) {
    // signalled while it set up: nothing ran, nothing to drain (and its Workers, never run, hold the connection)
    logger.info('worker stopped before it ran');
    process.exit(0);
  }
  // until a signal drains it
  await worker.run();
  await worker.close();
  await client.connection.close();
  await connection.close();
  metricsServer.close();
  await pool.end();
  await tracing.shutdown();
  // set by the signal handler while run() awaited (the compiler cannot see that)
  const drainStarted = (built.stopping as { at: number } | undefined)?.at;
  logger.info({ drainMs: drainStarted === undefined ? null : Date.now() - drainStarted }, 'worker stopped');
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`worker failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
