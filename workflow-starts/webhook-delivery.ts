// Starting a delivery workflow, as the outbox dispatcher (worker) and a
// redelivery (api) both do: the ID and the reuse policy decided once.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { WEBHOOK_DELIVERY_WORKFLOW, webhookDeliveryWorkflowId, type WebhookDeliveryInput } from '../domain/webhooks';

/** The delivery row's identity, as the webhooks tables hold it. */
export interface DeliveryToStart {
  id: string;
  event_id: string;
  endpoint_id: string;
}

/** Starts the delivery workflow on the webhook task queue; false when it had been started already (nothing new done). */
export async function startDeliveryWorkflow(
  client: Client,
  taskQueue: string,
  delivery: DeliveryToStart,
  redelivery = 0,
): Promise<boolean> {
  try {
    await client.workflow.start(WEBHOOK_DELIVERY_WORKFLOW, {
      taskQueue,
      workflowId: webhookDeliveryWorkflowId(delivery.event_id, delivery.endpoint_id, redelivery),
      args: [{ deliveryId: delivery.id } satisfies WebhookDeliveryInput],
      // a finished delivery is not sent again by a repeated dispatch
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

