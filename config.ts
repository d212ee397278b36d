// Where the api, the worker and the local-stack scripts read their settings.
// Each process loads only its own slice (loadApiConfig, loadWorkerConfig,
// loadStackConfig), built from the groups of variables below, so a setting
// one process does not read can never stop it; a bad value stops the process
// that reads it with a message naming the variable. The payments-stub and the
// webhook receiver have configs of their own, in their folders.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors';

const ms = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const flag = z.enum(['0', '1', 'false', 'true']);
const isOn = (value: string | undefined) => value === '1' || value === 'true';

// ---- groups of variables ---------------------------------------------------------

const processVars = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // the address a process listens on (the api; the worker's metrics)
  HOST: z.string().default('127.0.0.1'),
};

const temporalVars = {
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('checkout'),
};

// Postgres: embedded unless DATABASE_URL points elsewhere
const databaseVars = {
  DATABASE_URL: z.string().url().optional(),
  EMBEDDED_PG_PORT: port(5433),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
};

// The activities' timeouts (docs/design.md, "Timeout budget"). The api passes
// them in each workflow input; the worker bounds its provider calls by the charge's.
const activityBudgetVars = {
  FRAUD_TIMEOUT_MS: ms(500),
  CHARGE_TIMEOUT_MS: ms(2_000),
  NOTIFY_TIMEOUT_MS: ms(1_000),
  // Total time a charge may keep retrying before the payment fails (schedule-to-close).
  CHARGE_TOTAL_TIMEOUT_MS: ms(60 * 60 * 1000),
};

const apiVars = {
  PORT: port(3000),
  // the budget shrinks inward, edge > api > activity > HTTP call; checked below
  EDGE_BUDGET_MS: ms(10_000),
  API_BUDGET_MS: ms(3_000),
  // The front door protects itself (docs/design.md, "Front door protection"):
  // per-customer rate of new checkouts (counted in Postgres, so every api
  // instance agrees) and a bound on checkouts in flight per api instance.
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(10),
  MAX_IN_FLIGHT_CHECKOUTS: z.coerce.number().int().min(1).default(200),
  // A pending payment with no workflow this long after its last start attempt
  // (the api answered 503 and the client never retried) is deleted.
  ORPHAN_PAYMENT_AFTER_MS: ms(120_000),
  // after a rotation the old webhook secret keeps signing this long
  WEBHOOK_SECRET_ROTATION_GRACE_MS: ms(24 * 60 * 60 * 1000),
};

const workerVars = {
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

// What the local-stack scripts (npm start, the drills, the bench, the test setup) read.
const stackVars = {
  // local state of the embedded parts (Temporal's SQLite file, Postgres data)
  DATA_DIR: z.string().min(1).default('.data'),
  TEMPORAL_UI_PORT: port(8233),
  STUB_PORT: port(9000),
  // tools built or fetched on first use, kept outside the repo
  CHECKOUT_CACHE_DIR: z.string().min(1).optional(),
  TEMPORAL_CLI: z.string().min(1).optional(),
  TEMPORAL_TEST_SERVER: z.string().min(1).optional(),
};

// ---- Postgres session timeouts and migrations (db/pool.ts, db/migrate.ts) -----------
// A slice of its own, loadDatabaseSessionConfig(), for any process that opens a
// pool or migrates. db/pool.ts and db/migrate.ts use these defaults when given
// nothing. The pool's client-side read timeout (query_timeout) is 5 s, fixed in
// db/pool.ts; the server-side timeouts are set against it:
//  - statement 5 s, never more: Postgres cancels a statement by the time the
//    client gives up on it, so the ROLLBACK queued behind it runs at once instead
//    of timing out too and leaving the connection inside the transaction.
//  - idle in transaction 10 s, two client timeouts: a transaction whose client
//    stopped talking (a stalled process, a dropped connection) gives its locks
//    back, while normal gaps between a transaction's statements stay far below it.
//  - lock 2 s: a lock wait fails fast (55P03, a 503 or a retried activity) and
//    leaves most of the 5 s to the statement itself.
//  - migrations run on a connection of their own: they wait up to 60 s for the
//    migration lock (another api or worker migrating) and for each table lock their
//    DDL needs, and have no statement timeout (0), so a long CREATE INDEX runs to its end.
export const DATABASE_SESSION_DEFAULTS = {
  statementTimeoutMs: 5_000,
  idleInTransactionTimeoutMs: 10_000,
  lockTimeoutMs: 2_000,
  migrationLockTimeoutMs: 60_000,
  migrationStatementTimeoutMs: 0,
} as const;

const databaseSessionVars = {
  // at most the pool's 5 s client read timeout
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().max(5_000).default(DATABASE_SESSION_DEFAULTS.statementTimeoutMs),
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.idleInTransactionTimeoutMs),
  DATABASE_LOCK_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.lockTimeoutMs),
  MIGRATION_LOCK_TIMEOUT_MS: ms(DATABASE_SESSION_DEFAULTS.migrationLockTimeoutMs),
  // 0: no statement timeout for migrations
  MIGRATION_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(0).default(DATABASE_SESSION_DEFAULTS.migrationStatementTimeoutMs),
};

/** Every variable loadDatabaseSessionConfig reads. */
export const DATABASE_SESSION_VARIABLES: string[] = Object.keys(databaseSessionVars);

export interface DatabaseSessionConfig {
  /** createPool's server-side timeouts (db/pool.ts). */
  pool: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number; lockTimeoutMs: number };
  /** migrate's own connection (db/migrate.ts); statementTimeoutMs 0: none. */
  migrations: { lockTimeoutMs: number; statementTimeoutMs: number };
}

export function loadDatabaseSessionConfig(env: NodeJS.ProcessEnv = process.env): DatabaseSessionConfig {
  const e = parse(z.object(databaseSessionVars), env);
  return {
    pool: {
      statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
      idleInTransactionTimeoutMs: e.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      lockTimeoutMs: e.DATABASE_LOCK_TIMEOUT_MS,
    },
    migrations: { lockTimeoutMs: e.MIGRATION_LOCK_TIMEOUT_MS, statementTimeoutMs: e.MIGRATION_STATEMENT_TIMEOUT_MS },
  };
}

// ---- payment recording: waiting for an unreachable database (workflows/checkout.ts, activities/checkout) ----
// A recording step (ledger posting and payment row: completed, failed,
// refunded) that cannot reach Postgres waits for it instead of giving up: the
// payment stays pending (the api answers 202) and only a refusal by the data
// (SQLSTATE class 23, or the ledger's P0001) ends the step early and refunds.
//  - PAYMENT_PENDING_MAX_MS (api): how long each recording step keeps trying
//    (its schedule-to-close, no attempt cap); then a charged checkout refunds.
//    The api passes it in each workflow input with the activity budgets, so a
//    change applies to new checkouts only; an input without it keeps the old
//    policy. 0 turns the window off: the old policy for new checkouts too.
//  - LEDGER_OLD_POLICY_MAX_ATTEMPTS (api): the old policy's attempt cap (50:
//    at most about 7.5 minutes of waits at the default intervals, half that on
//    average with full jitter), used only without a window; the db-outage
//    drill lowers it to show the old policy giving up.
//  - LEDGER_RETRY_INITIAL_MS, LEDGER_RETRY_MAX_INTERVAL_MS (worker): the
//    full-jitter delays between attempts, which the activity computes and hands
//    Temporal as nextRetryDelay; the db-outage drill shortens them.
const paymentRecordingApiVars = {
  PAYMENT_PENDING_MAX_MS: z.coerce.number().int().min(0).default(24 * 60 * 60 * 1000),
  LEDGER_OLD_POLICY_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(50),
};
const paymentRecordingWorkerVars = {
  LEDGER_RETRY_INITIAL_MS: ms(200),
  LEDGER_RETRY_MAX_INTERVAL_MS: ms(10_000),
};

/** Every variable of the payment-recording group (the api reads PAYMENT_PENDING_MAX_MS and LEDGER_OLD_POLICY_MAX_ATTEMPTS, the worker LEDGER_RETRY_*). */
export const PAYMENT_RECORDING_VARIABLES: string[] = [...Object.keys(paymentRecordingApiVars), ...Object.keys(paymentRecordingWorkerVars)];

/** The api's part: what it passes in each workflow input's budgets. */
export interface PaymentRecordingConfig {
  /** paymentPendingMaxMs; 0: no pending window (the old policy). */
  pendingMaxMs: number;
  /** ledgerOldPolicyMaxAttempts. */
  oldPolicyMaxAttempts: number;
}

function paymentRecordingOf(env: NodeJS.ProcessEnv): PaymentRecordingConfig {
  const e = parse(z.object(paymentRecordingApiVars), env);
  return { pendingMaxMs: e.PAYMENT_PENDING_MAX_MS, oldPolicyMaxAttempts: e.LEDGER_OLD_POLICY_MAX_ATTEMPTS };
}

function ledgerRetryOf(env: NodeJS.ProcessEnv): { initialIntervalMs: number; maximumIntervalMs: number } {
  const e = parse(z.object(paymentRecordingWorkerVars), env);
  if (e.LEDGER_RETRY_MAX_INTERVAL_MS < e.LEDGER_RETRY_INITIAL_MS) {
    throw new ConfigError(
      `invalid configuration: LEDGER_RETRY_MAX_INTERVAL_MS (${e.LEDGER_RETRY_MAX_INTERVAL_MS}) must be at least LEDGER_RETRY_INITIAL_MS (${e.LEDGER_RETRY_INITIAL_MS})`,
    );
  }
  return { initialIntervalMs: e.LEDGER_RETRY_INITIAL_MS, maximumIntervalMs: e.LEDGER_RETRY_MAX_INTERVAL_MS };
}

// ---- the api's HTTP server: slow and idle clients (api/server.ts) ------------------------
// A slice of its own, read by loadApiConfig into ApiConfig.server; api/server.ts's
// listen() uses API_SERVER_DEFAULTS when given nothing. Node's defaults (60 s for
// headers, 300 s for a request, checked every 30 s, no connection cap) let a few
// hundred clients that trickle their bytes hold the api. Against the 3 s api and
// 10 s edge budgets:
//  - headers 3 s: headers come in one packet from any real client (nginx, the
//    bundled client); a connection silent that long is not a checkout.
//  - request 5 s, the whole request with its body (at most 16 KiB) from its first
//    byte: 5 s to arrive + the 3 s api budget = 8 s, inside the 10 s an edge
//    waits, so a request that arrives in time can still be answered in time.
//    Must stay below EDGE_BUDGET_MS, and headers must not exceed it (Node refuses).
//  - keep-alive 5 s: an idle connection is closed after that; longer than the
//    4 s after which undici (fetch, the bundled client) drops its idle
//    connections, so the client closes first and never reuses one being closed.
//  - connections 1,000: five times MAX_IN_FLIGHT_CHECKOUTS (200), room for 202
//    polls, probes and idle keep-alives, while bounding sockets and memory; a
//    connection past it is closed at once (the bundled client retries).
// The server checks the timeouts every second (or a quarter of the shorter one),
// so a request is cut at most that long after its timeout.
export const API_SERVER_DEFAULTS = {
  headersTimeoutMs: 3_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1_000,
} as const;

const apiServerVars = {
  API_HEADERS_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.headersTimeoutMs),
  API_REQUEST_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.requestTimeoutMs),
  API_KEEP_ALIVE_TIMEOUT_MS: ms(API_SERVER_DEFAULTS.keepAliveTimeoutMs),
  API_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(API_SERVER_DEFAULTS.maxConnections),
};

/** Every variable of the api server group (loadApiConfig reads them). */
export const API_SERVER_VARIABLES: string[] = Object.keys(apiServerVars);

export interface ApiServerSettings {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

function apiServerOf(env: NodeJS.ProcessEnv, edgeBudgetMs: number): ApiServerSettings {
  const e = parse(z.object(apiServerVars), env);
  const problems: string[] = [];
  if (e.API_HEADERS_TIMEOUT_MS > e.API_REQUEST_TIMEOUT_MS) {
    problems.push(`API_HEADERS_TIMEOUT_MS (${e.API_HEADERS_TIMEOUT_MS}) must not exceed API_REQUEST_TIMEOUT_MS (${e.API_REQUEST_TIMEOUT_MS})`);
  }
  if (!(e.API_REQUEST_TIMEOUT_MS < edgeBudgetMs)) {
    problems.push(`API_REQUEST_TIMEOUT_MS (${e.API_REQUEST_TIMEOUT_MS}) must be less than EDGE_BUDGET_MS (${edgeBudgetMs})`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return {
    headersTimeoutMs: e.API_HEADERS_TIMEOUT_MS,
    requestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
    keepAliveTimeoutMs: e.API_KEEP_ALIVE_TIMEOUT_MS,
    maxConnections: e.API_MAX_CONNECTIONS,
  };
}

// ---- worker shutdown: draining on SIGTERM/SIGINT (worker/main.ts, worker/build.ts) ----
// A slice of its own, read by loadWorkerConfig into WorkerConfig.shutdown. On a
// signal the worker stops its webhook outbox dispatcher first, then its Workers
// stop polling and let in-flight tasks finish for WORKER_SHUTDOWN_GRACE_MS
// (the SDK's shutdownGraceTime; its own default, 0, cancels a charge mid-call)
// before cancelling what is left. Unset: CHARGE_TIMEOUT_MS + 1 s, so a charge
// in flight always finishes; set, it must exceed CHARGE_TIMEOUT_MS.
const workerShutdownVars = {
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().positive().optional(),
};

/** Every variable of the worker-shutdown group. */
export const WORKER_SHUTDOWN_VARIABLES: string[] = Object.keys(workerShutdownVars);

function workerShutdownOf(env: NodeJS.ProcessEnv, chargeMs: number): { graceMs: number } {
  const e = parse(z.object(workerShutdownVars), env);
  const graceMs = e.WORKER_SHUTDOWN_GRACE_MS ?? chargeMs + 1_000;
  if (!(graceMs > chargeMs)) {
    throw new ConfigError(`invalid configuration: WORKER_SHUTDOWN_GRACE_MS (${graceMs}) must exceed CHARGE_TIMEOUT_MS (${chargeMs}), or a deploy cancels charges in flight`);
  }
  return { graceMs };
}

const apiSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, ...activityBudgetVars, ...apiVars });
const workerSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, CHARGE_TIMEOUT_MS: activityBudgetVars.CHARGE_TIMEOUT_MS, ...workerVars });
const stackSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, PORT: apiVars.PORT, ...stackVars });

/** Every environment variable the api, the worker or the local-stack scripts read. */
export const CONFIG_VARIABLES: string[] = [
  ...new Set([
    ...[apiSchema, workerSchema, stackSchema].flatMap((s) => Object.keys(s.shape)),
    ...DATABASE_SESSION_VARIABLES,
    ...PAYMENT_RECORDING_VARIABLES,
    ...API_SERVER_VARIABLES,
    ...WORKER_SHUTDOWN_VARIABLES,
  ]),
];

// ---- the slices --------------------------------------------------------------------

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
}

export interface DatabaseConfig {
  /** DATABASE_URL, or the embedded server's when it is unset (embedded: true). */
  url: string;
  embedded: boolean;
  embeddedPort: number;
  poolSize: number;
}

export interface ApiConfig {
  api: { port: number; host: string };
  logLevel: string;
  temporal: TemporalConfig;
  database: DatabaseConfig;
  /** Server-side timeouts of its pool, and its migrations (loadDatabaseSessionConfig). */
  databaseSession: DatabaseSessionConfig;
  budgets: { edgeMs: number; apiMs: number; fraudMs: number; chargeMs: number; notifyMs: number };
  chargeTotalMs: number;
  /** PAYMENT_PENDING_MAX_MS, LEDGER_OLD_POLICY_MAX_ATTEMPTS: passed in each workflow input's budgets. */
  paymentRecording: PaymentRecordingConfig;
  frontDoor: { rateLimitPerMinute: number; maxInFlightCheckouts: number; orphanPaymentAfterMs: number };
  webhooks: { secretRotationGraceMs: number };
  /** API_HEADERS_TIMEOUT_MS, API_REQUEST_TIMEOUT_MS, API_KEEP_ALIVE_TIMEOUT_MS, API_MAX_CONNECTIONS: the HTTP server's (api/server.ts). */
  server: ApiServerSettings;
}

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
  reconciliation: { scheduleId: string; intervalMs: number; settleMs: number; overlapMs: number; httpTimeoutMs: number };
  webhooks: {
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    retryDelaysMs: number[];
    jitterRatio: number;
    dispatch: { intervalMs: number; batchSize: number; leaseMs: number };
  };
}

/** What the local-stack scripts (npm start, drills, bench, test setup) need: where state and tools live, and the ports. */
export interface StackConfig {
  logLevel: string;
  dataDir: string;
  tools: { cacheDir: string; temporalCli: string | undefined; testServer: string | undefined };
  temporal: TemporalConfig & { uiPort: number };
  database: DatabaseConfig;
  api: { port: number; host: string };
  stub: { port: number };
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const e = parse(apiSchema, env);
  const config: ApiConfig = {
    api: { port: e.PORT, host: e.HOST },
    logLevel: e.LOG_LEVEL,
    temporal: temporalOf(e),
    database: databaseOf(e),
    databaseSession: loadDatabaseSessionConfig(env),
    budgets: { edgeMs: e.EDGE_BUDGET_MS, apiMs: e.API_BUDGET_MS, fraudMs: e.FRAUD_TIMEOUT_MS, chargeMs: e.CHARGE_TIMEOUT_MS, notifyMs: e.NOTIFY_TIMEOUT_MS },
    chargeTotalMs: e.CHARGE_TOTAL_TIMEOUT_MS,
    paymentRecording: paymentRecordingOf(env),
    frontDoor: {
      rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
      maxInFlightCheckouts: e.MAX_IN_FLIGHT_CHECKOUTS,
      orphanPaymentAfterMs: e.ORPHAN_PAYMENT_AFTER_MS,
    },
    webhooks: { secretRotationGraceMs: e.WEBHOOK_SECRET_ROTATION_GRACE_MS },
    server: apiServerOf(env, e.EDGE_BUDGET_MS),
  };
  checkBudgets(config.budgets);
  return config;
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
  };
  // the provider call must be able to connect well inside its attempt
  if (!(config.budgets.chargeMs > config.budgets.providerConnectMs)) {
    throw new ConfigError(
      `inverted timeout budget: CHARGE_TIMEOUT_MS (${config.budgets.chargeMs}) must exceed PROVIDER_CONNECT_TIMEOUT_MS (${config.budgets.providerConnectMs})`,
    );
  }
  return config;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const e = parse(stackSchema, env);
  return {
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.DATA_DIR),
    tools: {
      cacheDir: e.CHECKOUT_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'checkout-temporal'),
      temporalCli: e.TEMPORAL_CLI,
      testServer: e.TEMPORAL_TEST_SERVER,
    },
    temporal: { ...temporalOf(e), uiPort: e.TEMPORAL_UI_PORT },
    database: databaseOf(e),
    api: { port: e.PORT, host: e.HOST },
    stub: { port: e.STUB_PORT },
  };
}

// ---- helpers -------------------------------------------------------------------------

function parse<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return parsed.data;
}

function temporalOf(e: z.infer<z.ZodObject<typeof temporalVars>>): TemporalConfig {
  return { address: e.TEMPORAL_ADDRESS, namespace: e.TEMPORAL_NAMESPACE, taskQueue: e.TEMPORAL_TASK_QUEUE };
}

function databaseOf(e: z.infer<z.ZodObject<typeof databaseVars>>): DatabaseConfig {
  return {
    url: e.DATABASE_URL ?? embeddedDatabaseUrl(e.EMBEDDED_PG_PORT),
    embedded: e.DATABASE_URL === undefined,
    embeddedPort: e.EMBEDDED_PG_PORT,
    poolSize: e.DATABASE_POOL_SIZE,
  };
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

// Budgets must shrink inward (edge > api > activity); an inverted
// configuration would let an inner hop outlive the one waiting for it.
export function checkBudgets(b: ApiConfig['budgets']): void {
  const problems: string[] = [];
  if (!(b.edgeMs > b.apiMs)) problems.push(`EDGE_BUDGET_MS (${b.edgeMs}) must exceed API_BUDGET_MS (${b.apiMs})`);
  if (!(b.apiMs > b.chargeMs)) problems.push(`API_BUDGET_MS (${b.apiMs}) must exceed CHARGE_TIMEOUT_MS (${b.chargeMs})`);
  if (!(b.apiMs > b.fraudMs)) problems.push(`API_BUDGET_MS (${b.apiMs}) must exceed FRAUD_TIMEOUT_MS (${b.fraudMs})`);
  if (problems.length > 0) throw new ConfigError(`inverted timeout budget: ${problems.join('; ')}`);
}
