import path from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { WorkerConfig } from '../config';
import { workerTracing } from '../observability/temporal-worker';

export interface WorkerDeps<A extends object> {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: A;
  /** Overrides for tests and tuning (e.g. a prebuilt bundle). */
  options?: Partial<WorkerOptions>;
}

/** The workflow entry point the worker bundles (run from source through tsx or vitest). */
export const WORKFLOWS_PATH = path.resolve(__dirname, '..', 'workflows', 'index.ts');

/**
 * Bundled with the workflows by every bundler call (bundleWorkflowCode's
 * workflowInterceptorModules, or here when the Worker bundles from source): a
 * traced start gets its workflow's spans (workflows/tracing-interceptors.ts).
 */
export const WORKFLOW_INTERCEPTOR_MODULES = [path.resolve(__dirname, '..', 'workflows', 'tracing-interceptors.ts')];

/**
 * A Worker of one task queue. A worker process runs two: the checkout queue
 * (checkout and reconciliation) and its webhook queue (webhookTaskQueue(), only
 * deliveries, so a delivery backlog never takes a checkout's slot).
 */
export async function createWorker<A extends object>(deps: WorkerDeps<A>): Promise<Worker> {
  const prebuilt = deps.options?.workflowBundle !== undefined;
  // activity spans and the workflow span sink when this process traces (observability/tracing.ts)
  const tracing = workerTracing();
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: deps.taskQueue,
    // a prebuilt bundle replaces bundling the workflow source at start (and has the interceptor modules in it)
    ...(prebuilt ? {} : { workflowsPath: WORKFLOWS_PATH }),
    interceptors: { activity: tracing.activity, ...(prebuilt ? {} : { workflowModules: WORKFLOW_INTERCEPTOR_MODULES }) },
    sinks: tracing.sinks,
    activities: deps.activities,
    ...deps.options,
  });
}

/**
 * How a Worker stops (config.ts WORKER_SHUTDOWN_*): after shutdown() it stops
 * polling and lets in-flight tasks finish for graceMs before it cancels them
 * (the SDK's default, 0, cancels a charge mid-call). If it has still not
 * stopped SHUTDOWN_FORCE_AFTER_GRACE_MS later (an activity that ignores its
 * cancellation), run() throws, so the process exits rather than hangs.
 */
export function workerShutdownOptions(shutdown: WorkerConfig['shutdown']): Partial<WorkerOptions> {
  return { shutdownGraceTime: shutdown.graceMs, shutdownForceTime: shutdown.graceMs + SHUTDOWN_FORCE_AFTER_GRACE_MS };
}

/** How long past the grace a Worker that still has not stopped may take before run() gives up on it. */
export const SHUTDOWN_FORCE_AFTER_GRACE_MS = 5_000;

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
