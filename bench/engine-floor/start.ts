// Starting one engine-floor checkout the way the api starts a checkout
// (workflow-starts/checkout.ts: the same ID policies and search attributes,
// requestEagerStart, then the result long-poll), from the floor's worker
// process on the Worker's own NativeConnection, so the first workflow task
// comes back in the start call's answer and runs in that process. On purpose
// without Postgres (no key lookup, no payment row): this is the engine's
// floor, what Temporal alone costs a workflow of the checkout's shape.
import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { DEFAULT_ACTIVITY_BUDGETS, type CheckoutInput, type CheckoutRequest } from '../../domain/checkout';
import { checkoutStartOptions } from '../../workflow-starts/checkout';
import { ENGINE_FLOOR_WORKFLOW, type engineFloorCheckout } from './workflows';

/** Where the floor's process takes floor checkouts (worker-main.ts). */
export const FLOOR_CHECKOUT_PATH = '/floor-checkout';

/** How many starts this process made and how many of them came back with their first workflow task. */
export interface FloorStarts {
  starts: number;
  eager: number;
}

/** Starts (or joins) the key's floor checkout eagerly and waits for its outcome; true when it completed. */
export async function floorCheckout(
  client: Client,
  taskQueue: string,
  merchantId: string,
  key: string,
  request: CheckoutRequest,
  counts: FloorStarts,
): Promise<boolean> {
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
    handle = await client.workflow.start<typeof engineFloorCheckout>(ENGINE_FLOOR_WORKFLOW, checkoutStartOptions(taskQueue, workflowId, input, true));
    counts.starts += 1;
    if (handle.eagerlyStarted) counts.eager += 1;
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    handle = client.workflow.getHandle<typeof engineFloorCheckout>(workflowId);
  }
  const outcome = await handle.result();
  return outcome.outcome === 'completed';
}
