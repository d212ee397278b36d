// The api's slice: its port, the timeout budget it hands each workflow, the
// front door's protection, its HTTP server's limits.
import { z } from 'zod';
import { DB_BREAKER_DEFAULTS, type DbBreakerConfig } from '../domain/db-breaker';
import { ConfigError } from '../errors';
import { apiServerOf, type ApiServerSettings } from './api-server';
import { loadApiKeyConfig, type ApiKeyConfig } from './api-keys';
import { activityBudgetVars, databaseOf, databaseVars, processVars, temporalOf, temporalVars, type DatabaseConfig, type TemporalConfig } from './common';
import { loadDatabaseSessionConfig, type DatabaseSessionConfig } from './database-session';
import { paymentRecordingOf, type PaymentRecordingConfig } from './payment-recording';
import { flag, isOn, ms, parse, port } from './read';
import { loadTracingConfig, type TracingConfig } from './tracing';
import { loadWebhookTargetsConfig, type WebhookTargetsConfig } from './webhook-targets';

export const apiVars = {
  PORT: port(3000),
  // GET /metrics, on a port of its own (not the public one); 0 picks a free port
  API_METRICS_PORT: port(9465),
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
  // webhook endpoints a merchant may have (deleted ones not counted), and
  // redeliveries a merchant may ask for per minute (each one a workflow)
  WEBHOOK_MAX_ENDPOINTS_PER_MERCHANT: z.coerce.number().int().min(1).default(16),
  WEBHOOK_REDELIVERIES_PER_MINUTE: z.coerce.number().int().min(1).default(60),
  // Behind a proxy (docker-compose's nginx): how many hops of X-Forwarded-For
  // to trust for the client address (failed-authentication throttle); 0: none.
  API_TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  // The api hosts a checkout worker and starts checkouts eagerly: the first
  // workflow task comes back in the start call's answer and runs here, so a
  // checkout that succeeds first time is one round trip (docs/performance.md,
  // "One workflow task, started eagerly"). Needs the server's system.enableEagerWorkflowStart.
  API_EAGER_START: flag.default('1'),
  // With the hosted worker, how a request learns its checkout's outcome:
  // 'recording' hears the worker's commit in this process (or the long poll,
  // whichever comes first); 'long-poll' waits for the workflow to complete.
  API_RESULT_WAIT: z.enum(['recording', 'long-poll']).default('recording'),
  // The Temporal Web UI origins whose pages may call the codec endpoint (POST /codec/decode)
  // from the browser, comma-separated; no '*': it decrypts customers' data
  CODEC_CORS_ORIGINS: z.string().default('http://localhost:8233,http://127.0.0.1:8233'),
  // The breaker in front of the application's Postgres, its state shared by every api through a
  // Temporal workflow (docs/resilience.md, "The database breaker"). On: a slow or failing database
  // gets fast 503s, not requests holding every connection until their timeout.
  DB_BREAKER: flag.default('1'),
  DB_BREAKER_SLOW_MS: ms(DB_BREAKER_DEFAULTS.slowMs),
  DB_BREAKER_OPEN_MS: ms(DB_BREAKER_DEFAULTS.openMs),
  DB_BREAKER_WINDOW_MS: ms(DB_BREAKER_DEFAULTS.windowMs),
  DB_BREAKER_MIN_VOLUME: z.coerce.number().int().min(1).default(DB_BREAKER_DEFAULTS.minVolume),
  DB_BREAKER_SYNC_MS: ms(500),
};

export const apiSchema = z.object({ ...processVars, ...temporalVars, ...databaseVars, ...activityBudgetVars, ...apiVars });

export interface ApiConfig {
  api: { port: number; host: string; metricsPort: number };
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
  webhooks: { secretRotationGraceMs: number; maxEndpointsPerMerchant: number; redeliveriesPerMinute: number };
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: which endpoint URLs may be registered (config/webhook-targets.ts). */
  webhookTargets: WebhookTargetsConfig;
  /** API_HEADERS_TIMEOUT_MS, API_REQUEST_TIMEOUT_MS, API_KEEP_ALIVE_TIMEOUT_MS, API_MAX_CONNECTIONS: the HTTP server's (api/server.ts). */
  server: ApiServerSettings;
  /** API keys: the pepper, the key environment, failed-authentication throttle, per-key rate (config/api-keys.ts). */
  apiKeys: ApiKeyConfig;
  trustProxyHops: number;
  /** API_EAGER_START: run a checkout worker in the api process and start checkouts eagerly on it. */
  eagerStart: boolean;
  /** API_RESULT_WAIT: hear the hosted worker's recorded outcome, or only the result's long poll. */
  resultWait: 'recording' | 'long-poll';
  /** OTEL_EXPORTER_OTLP_ENDPOINT, TRACING_SAMPLE_RATIO (config/tracing.ts). */
  tracing: TracingConfig;
  /** CODEC_CORS_ORIGINS: the Web UI origins CORS answers on /codec (api/routes/codec.ts). */
  codecCorsOrigins: string[];
  /** DB_BREAKER*: the database breaker, whether it is on, how often each api reports, its rules. */
  dbBreaker: { enabled: boolean; syncMs: number; rules: DbBreakerConfig };
}

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const e = parse(apiSchema, env);
  const config: ApiConfig = {
    api: { port: e.PORT, host: e.HOST, metricsPort: e.API_METRICS_PORT },
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
    webhooks: {
      secretRotationGraceMs: e.WEBHOOK_SECRET_ROTATION_GRACE_MS,
      maxEndpointsPerMerchant: e.WEBHOOK_MAX_ENDPOINTS_PER_MERCHANT,
      redeliveriesPerMinute: e.WEBHOOK_REDELIVERIES_PER_MINUTE,
    },
    webhookTargets: loadWebhookTargetsConfig(env),
    server: apiServerOf(env, e.EDGE_BUDGET_MS),
    apiKeys: loadApiKeyConfig(env),
    trustProxyHops: e.API_TRUST_PROXY,
    eagerStart: isOn(e.API_EAGER_START),
    resultWait: e.API_RESULT_WAIT,
    tracing: loadTracingConfig(env),
    codecCorsOrigins: parseOrigins('CODEC_CORS_ORIGINS', e.CODEC_CORS_ORIGINS),
    dbBreaker: {
      enabled: isOn(e.DB_BREAKER),
      syncMs: e.DB_BREAKER_SYNC_MS,
      rules: {
        ...DB_BREAKER_DEFAULTS,
        slowMs: e.DB_BREAKER_SLOW_MS,
        openMs: e.DB_BREAKER_OPEN_MS,
        windowMs: e.DB_BREAKER_WINDOW_MS,
        minVolume: e.DB_BREAKER_MIN_VOLUME,
      },
    },
  };
  checkBudgets(config.budgets);
  return config;
}

/** Comma-separated origins (scheme://host[:port], nothing after); '*' or a URL with a path stops the process. */
export function parseOrigins(name: string, text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      let origin: string | undefined;
      try {
        origin = new URL(item).origin;
      } catch {
        origin = undefined;
      }
      if (origin !== item) throw new ConfigError(`invalid configuration: ${name}: "${item}" is not an origin like http://localhost:8233`);
      return item;
    });
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
