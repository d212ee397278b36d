// The environment every process of a throwaway local stack (a drill's, the
// bench's) shares: its own ports, data directory and task queue, quiet logs.
import { embeddedDatabaseUrl } from '../config';

export interface StackPorts {
  temporal: number;
  pg: number;
  stub: number;
  api: number;
}

export function localStackEnv(dir: string, ports: StackPorts, taskQueue: string): Record<string, string> {
  return {
    DATA_DIR: dir,
    EMBEDDED_PG_PORT: String(ports.pg),
    DATABASE_URL: embeddedDatabaseUrl(ports.pg),
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    PAYMENTS_URL: `http://127.0.0.1:${ports.stub}`,
    STUB_PORT: String(ports.stub),
    PORT: String(ports.api),
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  };
}
