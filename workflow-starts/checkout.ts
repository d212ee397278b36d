// Starting (or joining) the checkout workflow of an idempotency key: the ID
// policies that make it one run per key, ever, and the search attributes it
// is found by in the Web UI. Search attributes are stored in clear, out of
// the payload codec's reach: the customer is there as a keyed hash
// (temporal/customer-search-value.ts), and the amount not at all.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/common';
import type { CheckoutInput } from '../domain/checkout';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';
import type { checkout as checkoutWorkflow } from '../workflows';

export type CheckoutHandle = WorkflowHandle<typeof checkoutWorkflow>;

/**
 * How a start went: eager (the first task came back in the answer),
 * not_eager (started through the task queue, or a running workflow joined:
 * the SDK does not tell the two apart), or closed (the key's workflow had ended).
 */
export type CheckoutStart = 'eager' | 'not_eager' | 'closed';

/**
 * The running or finished workflow for the key, and how it was started. The
 * gRPC deadline (epoch ms) bounds each call; callers also race it (api/deadline.ts).
 */
export async function startOrAttachCheckout(
  client: Client,
  taskQueue: string,
  workflowId: string,
  input: CheckoutInput,
  deadline: number,
  eager = false,
  customerSearchValue?: string,
): Promise<{ handle: CheckoutHandle; start: CheckoutStart }> {
  try {
    const handle = await client.withDeadline(deadline, () =>
      client.workflow.start<typeof checkoutWorkflow>('checkout', checkoutStartOptions(taskQueue, workflowId, input, eager, customerSearchValue)),
    );
    // USE_EXISTING answers a running workflow's start too, without a task
    return { handle, start: handle.eagerlyStarted ? 'eager' : 'not_eager' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { handle: client.workflow.getHandle<typeof checkoutWorkflow>(workflowId), start: 'closed' };
    throw err;
  }
}

/**
 * How a checkout is started: never a second run for a key (a closed run is
 * not replaced, a running one is joined), with the search attributes it is
 * found by. The bench's engine floor starts its bare workflow the same way.
 * `eager` asks for the first workflow task in the answer (the client must be
 * on a NativeConnection that a worker of the task queue shares).
 * `customerSearchValue` is what CustomerId holds (the customer id's keyed
 * hash); without it the workflow has no CustomerId, never the id in clear.
 */
export function checkoutStartOptions(taskQueue: string, workflowId: string, input: CheckoutInput, eager = false, customerSearchValue?: string) {
  return {
    // Eager: the server hands the first workflow task back in the start's
    // answer to a worker on the caller's own connection. It applies the ID
    // policies first: a duplicate start is joined or refused as ever, and gets
    // no task (docs/design.md, "Eager start").
    ...(eager ? { requestEagerStart: true } : {}),
    taskQueue,
    workflowId,
    args: [input] as [CheckoutInput],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    typedSearchAttributes: [
      ...(input.merchantId !== undefined ? [{ key: SEARCH_ATTRIBUTES.merchantId, value: input.merchantId }] : []),
      ...(customerSearchValue !== undefined ? [{ key: SEARCH_ATTRIBUTES.customerId, value: customerSearchValue }] : []),
      { key: SEARCH_ATTRIBUTES.paymentStatus, value: 'pending' },
    ],
  };
}
