import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { CheckoutActivities } from '../activities';
import type { WorkerConfig } from '../config';

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
    // a prebuilt bundle replaces bundling the workflow source at start
    ...(deps.options?.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
    activities: deps.activities,
    ...deps.options,
  });
}

/** WorkerOptions for the tuning settings that are set (config.ts WORKER_* tuning); the SDK's defaults for the rest. */
export function workerTuningOptions(tuning: WorkerConfig['workerTuning']): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = {};
  if (tuning.maxCachedWorkflows !== undefined) options.maxCachedWorkflows = tuning.maxCachedWorkflows;
  if (tuning.maxConcurrentWorkflowTaskExecutions !== undefined) {
    options.maxConcurrentWorkflowTaskExecutions = tuning.maxConcurrentWorkflowTaskExecutions;
  }
  if (tuning.maxConcurrentActivityTaskExecutions !== undefined) {
    options.maxConcurrentActivityTaskExecutions = tuning.maxConcurrentActivityTaskExecutions;
  }
  if (tuning.reuseV8Context !== undefined) options.reuseV8Context = tuning.reuseV8Context;
  if (tuning.workflowBundlePath !== undefined) options.workflowBundle = { codePath: tuning.workflowBundlePath };
  return options;
}
