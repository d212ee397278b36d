// The engine floor's worker process (bench/engine-floor/workflows.ts on its
// own task queue, ENGINE_FLOOR_TASK_QUEUE): spawned by the bench on the stack's
// environment and node flags, so it gets the checkout worker's tuning
// (workerTuningOptions) against the same dev server. Its own process, as the
// checkout worker is: the bench process's CPU stays the load generator's.
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadWorkerConfig } from '../../config';
import { workerTuningOptions } from '../../worker/create-worker';
import { floorActivities } from './activities';

async function main(): Promise<void> {
  const taskQueue = process.env.ENGINE_FLOOR_TASK_QUEUE;
  if (!taskQueue) throw new Error('ENGINE_FLOOR_TASK_QUEUE is not set');
  const config = loadWorkerConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  // a prebuilt bundle (WORKER_WORKFLOW_BUNDLE) is the checkout's code, not ours
  const tuning = { ...workerTuningOptions(config.workerTuning), workflowBundle: undefined };
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, 'workflows.ts'), logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    activities: floorActivities,
    // as worker/build.ts: a task-queue activity rate, when set, also turns eager dispatch off
    ...(config.workerMaxActivitiesPerSecond > 0 ? { maxTaskQueueActivitiesPerSecond: config.workerMaxActivitiesPerSecond } : {}),
    ...tuning,
    workflowBundle,
  });
  // the SDK's default signal handling stops it (the bench's SIGTERM)
  await worker.run();
  await connection.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`engine-floor worker failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
