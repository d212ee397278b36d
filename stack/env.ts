// The environment every process of a local stack shares: where its state
// lives, its Temporal namespace and task queue, and where each service finds
// the others. LocalStack sets it over the caller's environment.

export interface StackPorts {
  temporal: number;
  pg: number;
  stub: number;
  api: number;
}

export interface StackEnvValues {
  dataDir: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  databaseUrl: string;
  /** the tables' owner, for migrations */
  databaseMigrationUrl: string;
  /** the embedded Postgres' port; omitted when the stack uses a Postgres of its own */
  pgPort?: number;
  /** the provider the worker calls; omitted when neither a stub nor another provider is known */
  paymentsUrl?: string;
  stubPort?: number;
  apiPort?: number;
}

export function stackEnv(v: StackEnvValues): Record<string, string> {
  const env: Record<string, string> = {
    DATA_DIR: v.dataDir,
    DATABASE_URL: v.databaseUrl,
    DATABASE_MIGRATION_URL: v.databaseMigrationUrl,
    TEMPORAL_ADDRESS: v.temporalAddress,
    TEMPORAL_NAMESPACE: v.namespace,
    TEMPORAL_TASK_QUEUE: v.taskQueue,
  };
  if (v.pgPort !== undefined) env.EMBEDDED_PG_PORT = String(v.pgPort);
  if (v.paymentsUrl !== undefined) env.PAYMENTS_URL = v.paymentsUrl;
  if (v.stubPort !== undefined) env.STUB_PORT = String(v.stubPort);
  if (v.apiPort !== undefined) env.PORT = String(v.apiPort);
  return env;
}

/** Over stackEnv for a throwaway stack (drills, bench): warnings only, the worker's and the api's metrics on free ports. */
export const THROWAWAY_ENV: Record<string, string> = {
  WORKER_METRICS_PORT: '0',
  API_METRICS_PORT: '0',
  LOG_LEVEL: 'warn',
};
