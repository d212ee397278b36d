// The variables every process reads: log level and listen host, Temporal, Postgres.
import { z } from 'zod';
import { dataProtectionOf, dataProtectionVars, type DataProtectionConfig } from './data-protection';
import { temporalAccessOf, temporalAccessVars, type TemporalAccessConfig } from './temporal-access';
import { embeddedDatabaseOwnerUrl, embeddedDatabaseUrl, ms, port } from './read';

export const processVars = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // the address a process listens on (the api; the worker's metrics)
  HOST: z.string().default('127.0.0.1'),
};

export const temporalVars = {
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('checkout'),
  // The SDK's own Prometheus exporter, on loopback: each process appends its text to its /metrics
  // (metrics-server.ts), so one scrape target per process shows both. 0 picks a free port.
  TEMPORAL_SDK_METRICS_PORT: port(0),
  // TLS and an API key (config/temporal-access.ts); the payload keys and the customer id's hash key (config/data-protection.ts)
  ...temporalAccessVars,
  ...dataProtectionVars,
};

// Postgres: embedded unless DATABASE_URL points elsewhere. DATABASE_URL is the
// application's role (reads and writes the tables, owns none); migrations run
// over DATABASE_MIGRATION_URL, the tables' owner (unset: DATABASE_URL, or the
// embedded server's owner).
export const databaseVars = {
  DATABASE_URL: z.string().url().optional(),
  DATABASE_MIGRATION_URL: z.string().url().optional(),
  EMBEDDED_PG_PORT: port(5433),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
};

// The activities' timeouts (docs/design.md, "Timeout budget"). The api passes
// them in each workflow input; the worker bounds its provider calls by the charge's.
export const activityBudgetVars = {
  FRAUD_TIMEOUT_MS: ms(500),
  CHARGE_TIMEOUT_MS: ms(2_000),
  NOTIFY_TIMEOUT_MS: ms(1_000),
  // Total time a charge may keep retrying before the payment fails (schedule-to-close).
  CHARGE_TOTAL_TIMEOUT_MS: ms(60 * 60 * 1000),
};

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Where the SDK's Prometheus exporter listens on 127.0.0.1 (worker/sdk-runtime.ts); 0: a free port. */
  sdkMetricsPort: number;
  /** TEMPORAL_TLS*, TEMPORAL_API_KEY: how every connection is made (temporal/connection-options.ts). */
  access: TemporalAccessConfig;
  /** PAYLOAD_KEYS, CUSTOMER_ID_HASH_KEY: what Temporal stores in clear (temporal/data-converter.ts). */
  dataProtection: DataProtectionConfig;
}

export interface DatabaseConfig {
  /** DATABASE_URL, or the embedded server's application role when it is unset (embedded: true). */
  url: string;
  /** DATABASE_MIGRATION_URL (the tables' owner), else DATABASE_URL, else the embedded server's owner. */
  migrationUrl: string;
  embedded: boolean;
  embeddedPort: number;
  poolSize: number;
}

export function temporalOf(e: z.infer<z.ZodObject<typeof temporalVars>>): TemporalConfig {
  return {
    address: e.TEMPORAL_ADDRESS,
    namespace: e.TEMPORAL_NAMESPACE,
    taskQueue: e.TEMPORAL_TASK_QUEUE,
    sdkMetricsPort: e.TEMPORAL_SDK_METRICS_PORT,
    access: temporalAccessOf(e),
    dataProtection: dataProtectionOf(e),
  };
}

export function databaseOf(e: z.infer<z.ZodObject<typeof databaseVars>>): DatabaseConfig {
  return {
    url: e.DATABASE_URL ?? embeddedDatabaseUrl(e.EMBEDDED_PG_PORT),
    migrationUrl: e.DATABASE_MIGRATION_URL ?? e.DATABASE_URL ?? embeddedDatabaseOwnerUrl(e.EMBEDDED_PG_PORT),
    embedded: e.DATABASE_URL === undefined,
    embeddedPort: e.EMBEDDED_PG_PORT,
    poolSize: e.DATABASE_POOL_SIZE,
  };
}
