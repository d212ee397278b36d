// The second Worker of a worker process: it polls the webhook task queue
// (webhookTaskQueue() of the checkout's) and runs only delivery workflows and
// their activity, so a delivery backlog never takes a checkout's slot.
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { WebhookActivities } from '../activities/webhooks/activities';
import { webhookTaskQueue } from '../domain/webhooks';
import { WORKFLOWS_PATH } from './create-worker';

export interface WebhookWorkerDeps {
  connection: NativeConnection;
  namespace: string;
  /** The checkout task queue; this worker polls its webhook queue. */
  checkoutTaskQueue: string;
  activities: WebhookActivities;
  options?: Partial<WorkerOptions>;
}

export async function createWebhookWorker(deps: WebhookWorkerDeps): Promise<Worker> {
  return Worker.create({
    connection: deps.connection,
    namespace: deps.namespace,
    taskQueue: webhookTaskQueue(deps.checkoutTaskQueue),
    ...(deps.options?.workflowBundle ? {} : { workflowsPath: WORKFLOWS_PATH }),
    activities: deps.activities,
    ...deps.options,
  });
}
