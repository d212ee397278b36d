import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { CheckoutActivities } from '../activities';

export interface CheckoutWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: CheckoutActivities;
  /** Overrides for tests and tuning (e.g. a prebuilt bundle). */
  options?: Partial<WorkerOptions>;
}

/** The workflow entry point the worker bundles (run from source through tsx or vitest). */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', 'index.ts');

export async function createCheckoutWorker(deps: CheckoutWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    workflowsPath: WORKFLOWS_PATH,
    activities: deps.activities,
    ...deps.options,
  });
}
