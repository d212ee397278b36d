// The one place configuration is read. Every process calls loadConfig() once at
// start; a bad value stops it with a message naming the variable.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

const faultModes = ['ok', 'error', 'unavailable', 'hang', 'lost_response'] as const;
export type FaultMode = (typeof faultModes)[number];

const envSchema = z.object({
  // api
  PORT: port(3000),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

  // Temporal
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('checkout'),
  TEMPORAL_UI_PORT: port(8233),

  // Postgres: embedded unless DATABASE_URL points elsewhere
  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_PG_PORT: port(5433),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),

  // payments provider (the stub by default)
  PAYMENTS_URL: z.string().url().default('http://127.0.0.1:9000'),

  // Timeout budget (DESIGN §3): shrinks inward, checked below
  EDGE_BUDGET_MS: ms(10_000),
  API_BUDGET_MS: ms(3_000),
  FRAUD_TIMEOUT_MS: ms(500),
  CHARGE_TIMEOUT_MS: ms(2_000),
  NOTIFY_TIMEOUT_MS: ms(1_000),
  PROVIDER_CONNECT_TIMEOUT_MS: ms(500),

  // The front door protects itself (DESIGN §2): per-customer rate of new
  // checkouts (counted in Postgres, so every api instance agrees) and a bound
  // on checkouts in flight per api instance.
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  MAX_IN_FLIGHT_CHECKOUTS: z.coerce.number().int().min(1).default(200),
  // A pending payment with no workflow this long after its last start attempt
  // (the api answered 503 and the client never retried) is deleted.
  ORPHAN_PAYMENT_AFTER_MS: ms(120_000),

  // Total time a charge may keep retrying before the payment fails (schedule-to-close).
  CHARGE_TOTAL_TIMEOUT_MS: ms(60 * 60 * 1000),

  // Fleet-wide provider protection (DESIGN §4), state shared in Postgres.
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

  // --- Worker tuning (docs/performance.md, measured by npm run bench) ---
  // Unset: the SDK's defaults. WORKER_WORKFLOW_BUNDLE is a prebuilt workflow
  // bundle (bundleWorkflowCode); unset, the worker bundles at start in a child process.
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).optional(),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).optional(),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).optional(),
  WORKER_REUSE_V8_CONTEXT: z.enum(['0', '1', 'false', 'true']).optional(),
  WORKER_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  // --- end of worker tuning ---

  // fraud rule: checkouts above this amount are refused before any charge
  FRAUD_MAX_AMOUNT_CENTS: z.coerce.number().int().positive().default(5_000_000),

  // local state of the embedded parts (Temporal's SQLite file, Postgres data)
  DATA_DIR: z.string().min(1).default('.data'),

  // tools built or fetched on first use, kept outside the repo
  CHECKOUT_CACHE_DIR: z.string().min(1).optional(),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_TEST_SERVER: z.string().min(1).optional(),

  // Test-only fault hook for the crash-after-ledger drill and test: the worker
  // kills itself right after the ledger commit, before the activity completes.
  CHECKOUT_CRASH_AFTER_LEDGER_COMMIT: z.enum(['0', '1', 'false', 'true']).default('0'),

  // --- Scheduled reconciliation (issue 8): a Temporal Schedule runs one
  // reconciliation workflow per tick; the worker creates or updates it at start.
  RECONCILIATION_SCHEDULE_ID: z.string().min(1).default('reconciliation'),
  RECONCILIATION_INTERVAL_MS: ms(15 * 60 * 1000),
  // charges younger than this are left to the next run: their checkout may still be recording
  RECONCILIATION_SETTLE_MS: z.coerce.number().int().min(0).default(60_000),
  // each window starts this much before the last one ended (late provider listings, clock skew);
  // what the overlap finds again is not reported again
  RECONCILIATION_OVERLAP_MS: z.coerce.number().int().min(0).default(5 * 60 * 1000),
  // each HTTP call to the provider's listing API
  RECONCILIATION_HTTP_TIMEOUT_MS: ms(5_000),
  // --- end of scheduled reconciliation ---

  // --- Webhooks out (issue 8): signed, at-least-once, dead-lettered ---
  // each HTTP POST to a merchant's endpoint, whole request (the delivery
  // activity's start-to-close is 40 s, so at most 30 s)
  WEBHOOK_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().max(30_000).default(5_000),
  WEBHOOK_CONNECT_TIMEOUT_MS: ms(2_000),
  // the waits between attempts (s, m, h or ms units); after the last, the delivery is dead
  WEBHOOK_RETRY_SCHEDULE: z.string().default('5s,5m,30m,2h,5h,10h,14h,20h,24h'),
  // each wait is spread by up to this fraction either side, so endpoints back up are not hit at once
  WEBHOOK_RETRY_JITTER_RATIO: z.coerce.number().min(0).max(0.9).default(0.2),
  // after a rotation the old secret keeps signing this long
  WEBHOOK_SECRET_ROTATION_GRACE_MS: ms(24 * 60 * 60 * 1000),
  // the outbox dispatcher in each worker: how often it looks, how many events at a time,
  // and how long a claimed event is its own before another worker may take it
  WEBHOOK_DISPATCH_INTERVAL_MS: ms(1_000),
  WEBHOOK_DISPATCH_BATCH: z.coerce.number().int().min(1).max(5_000).default(200),
  WEBHOOK_DISPATCH_LEASE_MS: ms(30_000),
  // the example receiver (npm run webhook-receiver)
  WEBHOOK_RECEIVER_PORT: port(4000),
  WEBHOOK_RECEIVER_SECRET: z.string().startsWith('whsec_').optional(),
  // answer every delivery with this status (e.g. 503) to play an endpoint that is down
  WEBHOOK_RECEIVER_FAIL_STATUS: z.coerce.number().int().min(400).max(599).optional(),
  // --- end of webhooks out ---

  // payments-stub
  STUB_PORT: port(9000),
  LATENCY_MS: z.coerce.number().int().min(0).default(0),
  FAIL_RATE: z.coerce.number().min(0).max(1).optional(),
  FAULT_MODE: z.enum(faultModes).default('ok'),
});

/** Every environment variable the config module reads. */
export const CONFIG_VARIABLES: string[] = Object.keys(envSchema.shape);

export interface Config {
  api: { port: number; host: string };
  logLevel: string;
  temporal: { address: string; namespace: string; taskQueue: string; uiPort: number };
  /** url is DATABASE_URL, or the embedded server's when it is unset (embedded: true). */
  database: { url: string; embedded: boolean; embeddedPort: number; poolSize: number };
  paymentsUrl: string;
  budgets: {
    edgeMs: number;
    apiMs: number;
    fraudMs: number;
    chargeMs: number;
    notifyMs: number;
    providerConnectMs: number;
  };
  fraudMaxAmountCents: number;
  frontDoor: { rateLimitPerMinute: number; maxInFlightCheckouts: number; orphanPaymentAfterMs: number };
  chargeTotalMs: number;
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
  dataDir: string;
  tools: { cacheDir: string; temporalCli: string | undefined; testServer: string | undefined };
  /** Test-only: SIGKILL the worker right after a ledger commit (see activities). */
  crashAfterLedgerCommit: boolean;
  /** Scheduled reconciliation (issue 8). */
  reconciliation: { scheduleId: string; intervalMs: number; settleMs: number; overlapMs: number; httpTimeoutMs: number };
  /** Webhooks out (issue 8). */
  webhooks: {
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    retryDelaysMs: number[];
    jitterRatio: number;
    secretRotationGraceMs: number;
    dispatch: { intervalMs: number; batchSize: number; leaseMs: number };
  };
  webhookReceiver: { port: number; secret: string | undefined; failStatus: number | undefined };
  stub: { port: number; latencyMs: number; failRate: number | undefined; faultMode: FaultMode };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  const e = parsed.data;
  const config: Config = {
    api: { port: e.PORT, host: e.HOST },
    logLevel: e.LOG_LEVEL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiPort: e.TEMPORAL_UI_PORT,
    },
    database: {
      url: e.DATABASE_URL ?? embeddedDatabaseUrl(e.EMBEDDED_PG_PORT),
      embedded: e.DATABASE_URL === undefined,
      embeddedPort: e.EMBEDDED_PG_PORT,
      poolSize: e.DATABASE_POOL_SIZE,
    },
    paymentsUrl: e.PAYMENTS_URL,
    budgets: {
      edgeMs: e.EDGE_BUDGET_MS,
      apiMs: e.API_BUDGET_MS,
      fraudMs: e.FRAUD_TIMEOUT_MS,
      chargeMs: e.CHARGE_TIMEOUT_MS,
      notifyMs: e.NOTIFY_TIMEOUT_MS,
      providerConnectMs: e.PROVIDER_CONNECT_TIMEOUT_MS,
    },
    fraudMaxAmountCents: e.FRAUD_MAX_AMOUNT_CENTS,
    frontDoor: {
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      maxInFlightCheckouts: e.MAX_IN_FLIGHT_CHECKOUTS,
      orphanPaymentAfterMs: e.ORPHAN_PAYMENT_AFTER_MS,
    },
    chargeTotalMs: e.CHARGE_TOTAL_TIMEOUT_MS,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    workerMaxActivitiesPerSecond: e.WORKER_MAX_ACTIVITIES_PER_SECOND,
    workerTuning: {
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      maxConcurrentWorkflowTaskExecutions: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxConcurrentActivityTaskExecutions: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      reuseV8Context: e.WORKER_REUSE_V8_CONTEXT === undefined ? undefined : e.WORKER_REUSE_V8_CONTEXT === '1' || e.WORKER_REUSE_V8_CONTEXT === 'true',
      workflowBundlePath: e.WORKER_WORKFLOW_BUNDLE,
    },
    retryBudget: { ratio: e.RETRY_BUDGET_RATIO, windowMs: e.RETRY_BUDGET_WINDOW_MS, minPerWindow: e.RETRY_BUDGET_MIN_PER_WINDOW },
    breaker: {
      failureRatio: e.BREAKER_FAILURE_RATIO,
      windowMs: e.BREAKER_WINDOW_MS,
      minVolume: e.BREAKER_MIN_VOLUME,
      openMs: e.BREAKER_OPEN_MS,
    },
    dataDir: path.resolve(e.DATA_DIR),
    tools: {
      cacheDir: e.CHECKOUT_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'checkout-temporal'),
      temporalCli: e.TEMPORAL_CLI,
      testServer: e.TEMPORAL_TEST_SERVER,
    },
    crashAfterLedgerCommit: e.CHECKOUT_CRASH_AFTER_LEDGER_COMMIT === '1' || e.CHECKOUT_CRASH_AFTER_LEDGER_COMMIT === 'true',
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
      secretRotationGraceMs: e.WEBHOOK_SECRET_ROTATION_GRACE_MS,
      dispatch: { intervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS, batchSize: e.WEBHOOK_DISPATCH_BATCH, leaseMs: e.WEBHOOK_DISPATCH_LEASE_MS },
    },
    webhookReceiver: { port: e.WEBHOOK_RECEIVER_PORT, secret: e.WEBHOOK_RECEIVER_SECRET, failStatus: e.WEBHOOK_RECEIVER_FAIL_STATUS },
    stub: { port: e.STUB_PORT, latencyMs: e.LATENCY_MS, failRate: e.FAIL_RATE, faultMode: e.FAULT_MODE },
  };
  checkBudgets(config.budgets);
  return config;
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** "5s,5m,2h" as milliseconds; a malformed item stops the process with the variable's name. */
export function parseDurationList(name: string, text: string): number[] {
  const items = text.split(',').map((item) => item.trim());
  return items.map((item) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(item);
    if (!match) throw new ConfigError(`invalid configuration: ${name}: "${item}" is not a duration like 500ms, 5s, 5m or 2h`);
    return Math.round(Number(match[1]) * (DURATION_UNITS_MS[match[2] as string] as number));
  });
}

export const EMBEDDED_DB = { user: 'postgres', password: 'postgres', database: 'checkout' };

export function embeddedDatabaseUrl(port: number): string {
  return `postgres://${EMBEDDED_DB.user}:${EMBEDDED_DB.password}@127.0.0.1:${port}/${EMBEDDED_DB.database}`;
}

// Budgets must shrink inward (edge > api > activity > HTTP call); an inverted
// configuration would let an inner hop outlive the one waiting for it.
export function checkBudgets(b: Config['budgets']): void {
  const problems: string[] = [];
  if (!(b.edgeMs > b.apiMs)) problems.push(`EDGE_BUDGET_MS (${b.edgeMs}) must exceed API_BUDGET_MS (${b.apiMs})`);
  if (!(b.apiMs > b.chargeMs)) problems.push(`API_BUDGET_MS (${b.apiMs}) must exceed CHARGE_TIMEOUT_MS (${b.chargeMs})`);
  if (!(b.apiMs > b.fraudMs)) problems.push(`API_BUDGET_MS (${b.apiMs}) must exceed FRAUD_TIMEOUT_MS (${b.fraudMs})`);
  if (!(b.chargeMs > b.providerConnectMs)) {
    problems.push(`CHARGE_TIMEOUT_MS (${b.chargeMs}) must exceed PROVIDER_CONNECT_TIMEOUT_MS (${b.providerConnectMs})`);
  }
  if (problems.length > 0) throw new ConfigError(`inverted timeout budget: ${problems.join('; ')}`);
}

/** What the local-stack scripts (npm start, drills, bench, test setup) need: where state and tools live, and the ports. */
export interface StackConfig {
  logLevel: string;
  dataDir: string;
  tools: Config['tools'];
  temporal: Config['temporal'];
  database: { url: string; embedded: boolean; embeddedPort: number };
  api: { port: number; host: string };
  stub: { port: number };
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const c = loadConfig(env);
  return { logLevel: c.logLevel, dataDir: c.dataDir, tools: c.tools, temporal: c.temporal, database: c.database, api: c.api, stub: { port: c.stub.port } };
}
