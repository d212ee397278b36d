// How a checkout is named across the system. Imported by workflow code: no I/O.

export const CHECKOUT_WORKFLOW_ID_PREFIX = 'checkout-';

/** The workflow ID of a checkout is the client's Idempotency-Key behind a fixed prefix. */
export function checkoutWorkflowId(idempotencyKey: string): string {
  return `${CHECKOUT_WORKFLOW_ID_PREFIX}${idempotencyKey}`;
}

/** Each provider operation gets its own key derived from the workflow ID, never shared. */
export function providerKey(workflowId: string, operation: 'charge' | 'refund'): string {
  return `${workflowId}:${operation}`;
}
