// How a checkout is named across the system. Imported by workflow code: no I/O.

export const CHECKOUT_WORKFLOW_ID_PREFIX = 'checkout-';

/**
 * The workflow ID of a checkout: its merchant and the client's Idempotency-Key
 * behind a fixed prefix (keys are unique per merchant, so two merchants' order
 * 42 are two workflows). Merchant ids hold no '-': the first one after the
 * prefix ends the merchant. Payments made before merchants keep their
 * `checkout-<key>` IDs (the row holds each payment's workflow ID).
 */
export function checkoutWorkflowId(merchantId: string, idempotencyKey: string): string {
  return `${CHECKOUT_WORKFLOW_ID_PREFIX}${merchantId}-${idempotencyKey}`;
}

/** Each provider operation gets its own key derived from the workflow ID, never shared. */
export function providerKey(workflowId: string, operation: 'charge' | 'refund'): string {
  return `${workflowId}:${operation}`;
}
