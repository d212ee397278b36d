// The checkout worker an api process hosts for eager workflow start
// (API_EAGER_START): a client and a Worker on one NativeConnection, so the
// server hands a new checkout's first workflow task back in the start call's
// answer and it runs here, its steps as local activities. It polls workflow
// tasks like any worker but never activity tasks: retries, timers, webhooks
// and reconciliation stay with the worker processes (docs/design.md, "Eager start").
import { Client } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { WorkerConfig } from '../config';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';
import { tracingClientInterceptors } from '../observability/temporal-client';
import { connectionOptionsOf } from '../temporal/connection-options';
import { dataConverterOf } from '../temporal/data-converter';
import { checkoutActivitiesFor, paymentsProviderFor, providerProtectionFor } from './build';
import { createWorker, workerShutdownOptions, workerTuningOptions } from './create-worker';
import { protectionEvents, type WorkerMetrics } from './metrics';
import { RecordedOutcomes } from './recorded-outcomes';
import { bundleWorkflowsInChildProcess } from './workflow-bundle';

export interface HostedCheckoutWorker {
  /** On the Worker's connection: its starts may be eager. */
  client: Client;
  /** Outcomes this Worker's recording steps commit, as they commit. */
  recordedOutcomes: RecordedOutcomes;
  /** Polls until shutdown(); rejects if the Worker fails. */
  run(): Promise<void>;
  /** Stops polling; in-flight tasks finish within WORKER_SHUTDOWN_GRACE_MS. */
  shutdown(): void;
  /** After run() resolved: the provider's HTTP client and the connection. */
  close(): Promise<void>;
}

/**
 * Connects and builds the hosted Worker. Throws if Temporal cannot be reached
 * (NativeConnection connects at once): the caller decides what to do then.
 */
export async function hostCheckoutWorker(
  config: WorkerConfig,
  // metrics: the worker-side ones on the api's registry (its breaker transitions logged and counted too)
  deps: { pool: Pool; logger: Logger; metrics?: WorkerMetrics },
): Promise<HostedCheckoutWorker> {
  const tuning = workerTuningOptions(config.workerTuning);
  const workflowBundle = tuning.workflowBundle ?? (await bundleWorkflowsInChildProcess());
  const connection = await NativeConnection.connect(connectionOptionsOf(config.temporal));
  // one converter for the Worker and the client: they read each other's payloads
  const dataConverter = dataConverterOf(config.temporal.dataProtection);
  const provider = paymentsProviderFor(config, deps.metrics);
  const recordedOutcomes = new RecordedOutcomes();
  let worker: Worker;
  try {
    const protection = providerProtectionFor(config, deps.pool, deps.metrics && protectionEvents(deps.logger, deps.metrics));
    worker = await createWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities: checkoutActivitiesFor(config, {
        pool: deps.pool,
        logger: deps.logger,
        provider,
        protection,
        onRecorded: (workflowId, outcome) => recordedOutcomes.recorded(workflowId, outcome),
        metrics: deps.metrics?.checkout,
      }),
      options: { ...tuning, ...workerShutdownOptions(config.shutdown), workflowBundle, dataConverter, enableNonLocalActivities: false },
    });
  } catch (err) {
    await provider.close();
    await connection.close();
    throw err;
  }
  return {
    client: new Client({ connection, namespace: config.temporal.namespace, dataConverter, interceptors: tracingClientInterceptors() }),
    recordedOutcomes,
    run: () => worker.run(),
    shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
    async close() {
      await provider.close();
      await connection.close();
    },
  };
}
