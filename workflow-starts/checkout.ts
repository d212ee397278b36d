// Starting (or joining) the checkout workflow of an idempotency key: the ID
// policies that make it one run per key, ever, and the search attributes it
// is found by in the Web UI.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { CheckoutInput } from '../domain/checkout';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import type { checkout as checkoutWorkflow } from '../workflows';

export type CheckoutHandle = WorkflowHandle<typeof checkoutWorkflow>;

/**
 * The running or finished workflow for the key. The gRPC deadline (epoch ms)
 * bounds each call; callers also race it (api/deadline.ts).
 */
export async function startOrAttachCheckout(
  client: Client,
  taskQueue: string,
  workflowId: string,
  input: CheckoutInput,
  deadline: number,
): Promise<CheckoutHandle> {
  try {
    return await client.withDeadline(deadline, () => client.workflow.start<typeof checkoutWorkflow>('checkout', checkoutStartOptions(taskQueue, workflowId, input)));
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return client.workflow.getHandle<typeof checkoutWorkflow>(workflowId);
    throw err;
  }
}

/**
 * How a checkout is started: never a second run for a key (a closed run is
 * not replaced, a running one is joined), with the search attributes it is
 * found by. The bench's engine floor starts its bare workflow the same way.
 */
export function checkoutStartOptions(taskQueue: string, workflowId: string, input: CheckoutInput) {
  return {
    taskQueue,
    workflowId,
    args: [input] as [CheckoutInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [
      ...(input.merchantId !== undefined ? [{ key: SEARCH_ATTRIBUTES.merchantId, value: input.merchantId }] : []),
      { key: SEARCH_ATTRIBUTES.customerId, value: input.request.customer_id },
      { key: SEARCH_ATTRIBUTES.amountCents, value: input.request.amount_cents },
      { key: SEARCH_ATTRIBUTES.paymentStatus, value: 'pending' },
    ],
  };
}
