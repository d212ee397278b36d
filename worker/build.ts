// The worker process's wiring, used by worker/main.ts and by the tests alike:
// the checkout Worker (checkout and reconciliation workflows and activities),
// the webhook Worker, and the outbox dispatcher that feeds it.
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, type NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps, type CheckoutActivityMetrics, createReconciliationActivities, createWebhookActivities, createWebhookHttpAgent, PaymentsProvider, ProviderListings } from '../activities';
import type { WorkerConfig } from '../config';
import type { Pool } from '../db/pool';
import { ProviderProtection, type ProtectionEvents } from '../db/provider-protection';
import type { MismatchKind } from '../domain/reconciliation';
import { webhookTaskQueue } from '../domain/webhooks';
import { systemResolver } from '../outbound/webhook-target';
import { dataConverterOf, FAILURE_CONVERTER_PATH } from '../temporal/data-converter';
import type { Logger } from '../logger';
import { createWorker, WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH, workerShutdownOptions, workerTuningOptions } from './create-worker';
import { protectionEvents as protectionEventsOf, type WorkerMetrics } from './metrics';
import { WebhookDispatcher } from './webhook-dispatcher';

export interface WorkerDeps {
  connection: NativeConnection;
  /** For the outbox dispatcher's workflow starts. */
  client: Client;
  pool: Pool;
  logger: Logger;
  /** The breaker and retry budget; default: the fleet's shared one for the provider 'payments'. */
  protection?: ProviderProtection;
  /**
   * The worker-side metrics (worker/metrics.ts): side effects, charge
   * attempts, provider latency, and, unless given below, the protection
   * events. Unset: nothing is counted.
   */
  metrics?: WorkerMetrics;
  /** Hears breaker transitions and admissions; default: logged and counted in `metrics`. */
  protectionEvents?: ProtectionEvents;
  /** Hears each reconciliation finding (the worker's metric). */
  onReconciliationMismatch?: (kind: MismatchKind) => void;
  /** The workflow bundle (worker/main.ts builds it in a child process); unset, built here once for both Workers. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Run the outbox dispatcher (default true; tests that share a database turn it off). */
  dispatchWebhooks?: boolean;
  /** Hears each outcome a recording step commits (a test stack's api in the same process, as the hosted worker's). */
  onRecorded?: ActivityDeps['onRecorded'];
}

export interface BuiltWorker {
  protection: ProviderProtection;
  /** Polls until shutdown() (worker/main.ts calls it on SIGINT/SIGTERM); resolves once drained. */
  run(): Promise<void>;
  /**
   * Starts the drain, in order: the webhook outbox dispatcher stops (its sweep
   * in flight ends, bounded by the grace), then both Workers stop polling and
   * finish their in-flight tasks within WORKER_SHUTDOWN_GRACE_MS. run()
   * resolves when it is done. Safe to call more than once.
   */
  shutdown(): void;
  /** Closes what run() leaves open (HTTP agents); call after run() resolves. */
  close(): Promise<void>;
}

/** The checkout activities as this config makes them; the time-skipping tests use it too. */
export function checkoutActivitiesFor(
  config: WorkerConfig,
  deps: {
    pool: Pool;
    logger: Logger;
    provider: PaymentsProvider;
    protection: ProviderProtection;
    onRecorded?: ActivityDeps['onRecorded'];
    metrics?: CheckoutActivityMetrics;
  },
): ReturnType<typeof createActivities> {
  return createActivities({
    ...deps,
    config: {
      fraudMaxAmountCents: config.fraudMaxAmountCents,
      chargeTimeoutMs: config.budgets.chargeMs,
      crashAfterLedgerCommit: config.crashAfterLedgerCommit,
      ledgerRetry: config.ledgerRetry,
    },
  });
}

/** The fleet's shared breaker and retry budget for the provider 'payments', as this config sets them. */
export function providerProtectionFor(config: WorkerConfig, pool: Pool, events?: ProtectionEvents): ProviderProtection {
  return new ProviderProtection(
    pool,
    PROVIDER_NAME,
    { breaker: config.breaker, retryBudget: config.retryBudget, probeHoldMs: config.budgets.chargeMs + 1_000 },
    events,
  );
}

/** The provider the breaker, the retry budget and the latency series are named by. */
export const PROVIDER_NAME = 'payments';

/** The provider's HTTP client as this config makes it, timed into metrics when given. */
export function paymentsProviderFor(config: WorkerConfig, metrics?: WorkerMetrics): PaymentsProvider {
  return new PaymentsProvider({
    baseUrl: config.paymentsUrl,
    connectTimeoutMs: config.budgets.providerConnectMs,
    requestDuration: metrics && { histogram: metrics.providerRequestDuration, provider: PROVIDER_NAME },
  });
}

export async function buildWorker(config: WorkerConfig, deps: WorkerDeps): Promise<BuiltWorker> {
  const { pool, logger, metrics } = deps;
  const provider = paymentsProviderFor(config, metrics);
  const events = deps.protectionEvents ?? (metrics && protectionEventsOf(logger, metrics));
  const protection = deps.protection ?? providerProtectionFor(config, pool, events);
  const activities = checkoutActivitiesFor(config, { pool, logger, provider, protection, onRecorded: deps.onRecorded, metrics: metrics?.checkout });
  // the provider's listings against the ledger, one run per Schedule tick
  const listings = new ProviderListings({
    baseUrl: config.paymentsUrl,
    connectTimeoutMs: config.budgets.providerConnectMs,
    requestDuration: metrics && { histogram: metrics.providerRequestDuration, provider: PROVIDER_NAME },
  });
  const reconciliationActivities = createReconciliationActivities({
    pool,
    listings,
    logger,
    config: { httpTimeoutMs: config.reconciliation.httpTimeoutMs },
    onMismatch: deps.onReconciliationMismatch,
  });
  // signed deliveries to merchants' endpoints, on an HTTP agent of their own
  const webhookHttp = createWebhookHttpAgent(config.webhooks.connectTimeoutMs);
  const webhookActivities = createWebhookActivities({
    pool,
    http: webhookHttp,
    logger,
    targets: { allowPrivateNetworks: config.webhookTargets.allowPrivateNetworks, resolve: systemResolver },
    config: {
      requestTimeoutMs: config.webhooks.requestTimeoutMs,
      schedule: { delaysMs: config.webhooks.retryDelaysMs, jitterRatio: config.webhooks.jitterRatio },
    },
  });
  // slots, cache, V8 context reuse, prebuilt bundle (docs/performance.md); the drain's grace
  const tuning = workerTuningOptions(config.workerTuning);
  // both Workers run the same workflow code: bundle it once, not once each
  const workflowBundle =
    deps.workflowBundle ??
    tuning.workflowBundle ??
    (await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: new DefaultLogger('WARN'),
    }));
  // payloads and failure messages encrypted (temporal/data-converter.ts)
  const dataConverter = dataConverterOf(config.temporal.dataProtection);
  const options: Partial<WorkerOptions> = { ...tuning, ...workerShutdownOptions(config.shutdown), workflowBundle, dataConverter };
  const checkoutWorker: Worker = await createWorker({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: { ...activities, ...reconciliationActivities },
    // server-side, for the whole task queue: bounds the provider rate of a draining backlog
    options: {
      ...(config.workerMaxActivitiesPerSecond > 0 ? { maxTaskQueueActivitiesPerSecond: config.workerMaxActivitiesPerSecond } : {}),
      ...options,
    },
  });
  const webhookWorker = await createWorker({
    connection: deps.connection,
    namespace: config.temporal.namespace,
    taskQueue: webhookTaskQueue(config.temporal.taskQueue),
    activities: webhookActivities,
    options,
  });
  const dispatcher =
    deps.dispatchWebhooks === false
      ? undefined
      : new WebhookDispatcher({ pool, client: deps.client, taskQueue: webhookTaskQueue(config.temporal.taskQueue), logger, config: config.webhooks.dispatch });

  let draining: Promise<void> | undefined;
  const drain = async () => {
    // 1. no new delivery workflows from a process on its way out; a sweep cut short leaves its lease to expire
    if (dispatcher) {
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        dispatcher.stop().then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), config.shutdown.graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (!stopped) logger.warn({ graceMs: config.shutdown.graceMs }, 'webhook dispatcher sweep still running after the grace; leaving it to its lease');
    }
    // 2. the Workers stop polling and finish in-flight tasks within the grace (then cancel what is left)
    for (const worker of [checkoutWorker, webhookWorker]) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    }
  };

  return {
    protection,
    async run() {
      if (draining) return; // shut down before it ran: nothing to drain
      dispatcher?.start();
      try {
        await Promise.all([checkoutWorker.run(), webhookWorker.run()]);
      } finally {
        await dispatcher?.stop();
      }
    },
    shutdown() {
      draining ??= drain().catch((err: unknown) => {
        logger.error({ err: (err as Error).message }, 'worker drain failed; stopping the Workers now');
        for (const worker of [checkoutWorker, webhookWorker]) if (worker.getState() === 'RUNNING') worker.shutdown();
      });
    },
    async close() {
      await webhookHttp.close();
      await provider.close();
      await listings.close();
    },
  };
}
