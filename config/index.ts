// Where the api, the worker and the local-stack scripts read their settings.
// Each process loads only its own slice (loadApiConfig, loadWorkerConfig,
// loadStackConfig), built from the groups of variables below, so a setting
// one process does not read can never stop it; a bad value stops the process
// that reads it with a message naming the variable. The payments-stub and the
// webhook receiver have configs of their own, in their folders.
import { API_SERVER_VARIABLES } from './api-server';
import { API_KEY_VARIABLES } from './api-keys';
import { apiSchema } from './api';
import { DATABASE_SESSION_VARIABLES } from './database-session';
import { PAYMENT_RECORDING_VARIABLES } from './payment-recording';
import { stackSchema } from './stack';
import { TRACING_VARIABLES } from './tracing';
import { WEBHOOK_TARGET_VARIABLES } from './webhook-targets';
import { workerSchema } from './worker';
import { WORKER_SHUTDOWN_VARIABLES } from './worker-shutdown';

export * from './api';
export * from './api-server';
export * from './api-keys';
export * from './common';
export * from './data-protection';
export * from './database-session';
export * from './payment-recording';
export * from './stack';
export * from './temporal-access';
export * from './tracing';
export * from './webhook-targets';
export * from './worker';
export * from './worker-shutdown';
export { EMBEDDED_DB, embeddedDatabaseUrl, parseDurationList } from './read';

/** Every environment variable the api, the worker or the local-stack scripts read. */
export const CONFIG_VARIABLES: string[] = [
  ...new Set([
    ...[apiSchema, workerSchema, stackSchema].flatMap((s) => Object.keys(s.shape)),
    ...DATABASE_SESSION_VARIABLES,
    ...PAYMENT_RECORDING_VARIABLES,
    ...API_SERVER_VARIABLES,
    ...API_KEY_VARIABLES,
    ...WORKER_SHUTDOWN_VARIABLES,
    ...WEBHOOK_TARGET_VARIABLES,
    ...TRACING_VARIABLES,
  ]),
];
