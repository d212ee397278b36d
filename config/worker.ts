// The worker's slice: the provider, its protection, tuning, reconciliation,
// webhooks, recording retries and shutdown.
import { z } from 'zod';
import { ConfigError } from '../errors';
import { activityBudgetVars, databaseOf, databaseVars, processVars, temporalOf, temporalVars, type DatabaseConfig, type TemporalConfig } from './common';
import { loadDatabaseSessionConfig, type DatabaseSessionConfig } from './database-session';
import { ledgerRetryOf } from './payment-recording';
import { flag, isOn, ms, parse, parseDurationList, port } from './read';
import { loadTracingConfig, type TracingConfig } from './tracing';
import { loadWebhookTargetsConfig, type WebhookTargetsConfig } from './webhook-targets';
import { workerShutdownOf } from './worker-shutdown';

export const workerVars = {
  // payments provider (the stub by default)
  PAYMENTS_URL: z.string().url().default('http://127.0.0.1:9000'),
  PROVIDER_CONNECT_TIMEOUT_MS: ms(500),
  // fraud rule: checkouts above this amount are refused before any charge
  FRAUD_MAX_AMOUNT_CENTS: z.coerce.number().int().positive().default(5_000_000),

  // Fleet-wide provider protection (docs/design.md, "Provider protection"), state shared in Postgres.
  RETRY_BUDGET_RATIO: z.coerce.number().min(0).max(1).default(0.2),
  RETRY_BUDGET_WINDOW_MS: ms(10_000),
  RETRY_BUDGET_MIN_PER_WINDOW: z.coerce.number().int().min(0).default(10),
  BREAKER_FAILURE_RATIO: z.coerce.number().gt(0).max(1).default(0.5),
  BREAKER_WINDOW_MS: ms(10_000),
  BREAKER_MIN_VOLUME: z.coerce.number().int().min(1).default(10),
  BREAKER_OPEN_MS: ms(30_000),

  // the worker's Prometheus metrics (breaker, retry budget); 0 picks a free port
  WORKER_METRICS_PORT: port(9464),
  // Activities per second for the whole task queue, enforced by the Temporal
  // server across every worker (so it bounds the provider rate of a draining
  // backlog); 0 means no limit.
  WORKER_MAX_ACTIVITIES_PER_SECOND: z.coerce.number().min(0).default(0),

  // Worker tuning (docs/performance.md, measured by npm run bench). Unset: the
  // SDK's defaults. WORKER_WORKFLOW_BUNDLE is a prebuilt workflow bundle
  // (bundleWorkflowCode); unset, the worker bundles at start in a child process.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  WORKER_REUSE_V8_CONTEXT: flag.optional(),
  WORKER_WORKFLOW_BUNDLE: z.string().min(1).optional(),

  // Test-only fault hook for the crash-after-ledger drill and test: the worker
  // kills itself right after the ledger commit, before the activity completes.
  CHECKOUT_CRASH_AFTER_LEDGER_COMMIT: flag.default('0'),

  // Scheduled reconciliation: a Temporal Schedule runs one reconciliation
  // workflow per tick; the worker creates or updates it at start.
  RECONCILIATION_SCHEDULE_ID: z.string().min(1).default('reconciliation'),
  RECONCILIATION_INTERVAL_MS: ms(15 * 60 * 1000),
  // charges younger than this are left to the next run: their checkout may still be recording
  RECONCILIATION_SETTLE_MS: z.coerce.number().int().min(0).default(60_000),
  // each window starts this much before the last one ended (late provider listings, clock skew);
  // what the overlap finds again is not reported again
  RECONCILIATION_OVERLAP_MS: z.coerce.number().int().min(0).default(5 * 60 * 1000),
  // each HTTP call to the provider's listing API
  RECONCILIATION_HTTP_TIMEOUT_MS: ms(5_000),

  // Webhooks out: signed, at-least-once, dead-lettered. Each HTTP POST to a
  // merchant's endpoint, whole request (the delivery activity's start-to-close
  // is 40 s, so at most 30 s).
  WEBHOOK_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(5_000),
  WEBHOOK_CONNECT_TIMEOUT_MS: ms(2_000),
  // the waits between attempts (s, m, h or ms units); after the last, the delivery is dead
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,14h,20h,24h'),
  // each wait is spread by up to this fraction either side, so endpoints back up are not hit at once
  WEBHOOK_RETRY_JITTER_RATIO: z.coerce.number().min(0).max(0.9).default(0.2),
  // the outbox dispatcher in each worker: how often it looks, how many events at a time,
  // and how long a claimed event is its own before another worker may take it
  WEBHOOK_DISPATCH_INTERVAL_MS: ms(1_000),
  WEBHOOK_DISPATCH_BATCH: z.coerce.number().int().min(1).max(5_000).default(200),
  WEBHOOK_DISPATCH_LEASE_MS: ms(30_000),
};

export const workerSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, CHARGE_TIMEOUT_MS: activityBudgetVars.CHARGE_TIMEOUT_MS, ...workerVars });

export interface WorkerConfig {
  /** Where the worker's metrics listen. */
  host: string;
  logLevel: string;
  temporal: TemporalConfig;
  database: DatabaseConfig;
  /** Server-side timeouts of its pool, and its migrations (loadDatabaseSessionConfig). */
  databaseSession: DatabaseSessionConfig;
  paymentsUrl: string;
  budgets: { chargeMs: number; providerConnectMs: number };
  fraudMaxAmountCents: number;
  workerMetricsPort: number;
  /** Activities per second for the whole task queue (server-side); 0: no limit. */
  workerMaxActivitiesPerSecond: number;
  /** Worker tuning (docs/performance.md); undefined: the SDK's default. */
  workerTuning: {
    maxCachedWorkflows?: number;
    maxConcurrentWorkflowTaskExecutions?: number;
    maxConcurrentActivityTaskExecutions?: number;
    reuseV8Context?: boolean;
    workflowBundlePath?: string;
  };
  retryBudget: { ratio: number; windowMs: number; minPerWindow: number };
  breaker: { failureRatio: number; windowMs: number; minVolume: number; openMs: number };
  /** Test-only: SIGKILL the worker right after a ledger commit (see activities). */
  crashAfterLedgerCommit: boolean;
  /** LEDGER_RETRY_*: the recording steps' full-jitter delays (activities' config.ledgerRetry). */
  ledgerRetry: { initialIntervalMs: number; maximumIntervalMs: number };
  /** WORKER_SHUTDOWN_*: how long in-flight tasks may finish after a shutdown signal. */
  shutdown: { graceMs: number };
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: which endpoint addresses a delivery may reach (config/webhook-targets.ts). */
  webhookTargets: WebhookTargetsConfig;
  reconciliation: { scheduleId: string; intervalMs: number; settleMs: number; overlapMs: number; httpTimeoutMs: number };
  webhooks: {
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    retryDelaysMs: number[];
    jitterRatio: number;
    dispatch: { intervalMs: number; batchSize: number; leaseMs: number };
  };
  /** OTEL_EXPORTER_OTLP_ENDPOINT, TRACING_SAMPLE_RATIO (config/tracing.ts). */
  tracing: TracingConfig;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const e = parse(workerSchema, env);
  const config: WorkerConfig = {
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    temporal: temporalOf(e),
    database: databaseOf(e),
    databaseSession: loadDatabaseSessionConfig(env),
    paymentsUrl: e.PAYMENTS_URL,
    budgets: { chargeMs: e.CHARGE_TIMEOUT_MS, providerConnectMs: e.PROVIDER_CONNECT_TIMEOUT_MS },
    fraudMaxAmountCents: e.FRAUD_MAX_AMOUNT_CENTS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workerMaxActivitiesPerSecond: e.WORKER_MAX_ACTIVITIES_PER_SECOND,
    workerTuning: {
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivityTaskExecutions: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      reuseV8Context: e.WORKER_REUSE_V8_CONTEXT === undefined ? undefined : isOn(e.WORKER_REUSE_V8_CONTEXT),
      workflowBundlePath: e.WORKER_WORKFLOW_BUNDLE,
    },
    retryBudget: { ratio: e.RETRY_BUDGET_RATIO, windowMs: e.RETRY_BUDGET_WINDOW_MS, minPerWindow: e.RETRY_BUDGET_MIN_PER_WINDOW },
    breaker: {
      failureRatio: e.BREAKER_FAILURE_RATIO,
      windowMs: e.BREAKER_WINDOW_MS,
      minVolume: e.BREAKER_MIN_VOLUME,
      openMs: e.BREAKER_OPEN_MS,
    },
    crashAfterLedgerCommit: isOn(e.CHECKOUT_CRASH_AFTER_LEDGER_COMMIT),
    ledgerRetry: ledgerRetryOf(env),
    shutdown: workerShutdownOf(env, e.CHARGE_TIMEOUT_MS),
    webhookTargets: loadWebhookTargetsConfig(env),
    reconciliation: {
      scheduleId: e.RECONCILIATION_SCHEDULE_ID,
      intervalMs: e.RECONCILIATION_INTERVAL_MS,
      settleMs: e.RECONCILIATION_SETTLE_MS,
      overlapMs: e.RECONCILIATION_OVERLAP_MS,
      httpTimeoutMs: e.RECONCILIATION_HTTP_TIMEOUT_MS,
    },
    webhooks: {
      requestTimeoutMs: e.WEBHOOK_REQUEST_TIMEOUT_MS,
      connectTimeoutMs: e.WEBHOOK_CONNECT_TIMEOUT_MS,
      retryDelaysMs: parseDurationList('WEBHOOK_RETRY_SCHEDULE', e.WEBHOOK_RETRY_SCHEDULE),
      jitterRatio: e.WEBHOOK_RETRY_JITTER_RATIO,
      dispatch: { intervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS, batchSize: e.WEBHOOK_DISPATCH_BATCH, leaseMs: e.WEBHOOK_DISPATCH_LEASE_MS },
    },
    tracing: loadTracingConfig(env),
  };
  // the provider call must be able to connect well inside its attempt
  if (!(config.budgets.chargeMs > config.budgets.providerConnectMs)) {
    throw new ConfigError(
      `inverted timeout budget: CHARGE_TIMEOUT_MS (${config.budgets.chargeMs}) must exceed PROVIDER_CONNECT_TIMEOUT_MS (${config.budgets.providerConnectMs})`,
    );
  }
  return config;
}
