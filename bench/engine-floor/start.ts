// Starting the engine floor's workflow from the bench process, the way the api
// starts a checkout (workflow-starts/checkout.ts: the same ID policies and
// search attributes, then the result long-poll). On purpose without HTTP and
// Postgres (no api, no payment row): this is the engine's floor, what Temporal
// alone costs a workflow of the checkout's shape on these server settings.
import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { DEFAULT_ACTIVITY_BUDGETS, type CheckoutInput, type CheckoutRequest } from '../../domain/checkout';
import { checkoutStartOptions } from '../../workflow-starts/checkout';
import { freshCheckouts } from '../checkout-requests';
import type { CallResult } from '../open-load';
import { ENGINE_FLOOR_WORKFLOW, type engineFloorCheckout } from './workflows';

/** One fresh floor checkout per call: started, then its result awaited; 201 when it completed, as the api answers. */
export function engineFloorCalls(client: Client, taskQueue: string, merchantId: string): (i: number) => Promise<CallResult> {
  // the bench's own checkout bodies: the same customers and amounts
  const fresh = freshCheckouts('floor', '');
  return async () => {
    const { key, body } = fresh(0);
    const request = JSON.parse(body) as CheckoutRequest;
    const input: CheckoutInput = {
      merchantId,
      paymentId: `pay_${crypto.randomUUID().replace(/-/g, '')}`,
      idempotencyKey: key,
      request,
      createdAt: new Date().toISOString(),
      budgets: DEFAULT_ACTIVITY_BUDGETS,
    };
    // same length and shape as checkoutWorkflowId(), another prefix: never taken for a checkout
    const workflowId = `floor-${merchantId}-${key}`;
    let handle;
    try {
      handle = await client.workflow.start<typeof engineFloorCheckout>(ENGINE_FLOOR_WORKFLOW, checkoutStartOptions(taskQueue, workflowId, input));
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      handle = client.workflow.getHandle<typeof engineFloorCheckout>(workflowId);
    }
    const outcome = await handle.result();
    return { key, status: outcome.outcome === 'completed' ? 201 : 500 };
  };
}
