// The span attributes that find a checkout's spans: its workflow ID, payment
// and merchant. No customer id, no card data. Workflow code imports this
// file (workflows/tracing-spans.ts): pure, no Node built-ins, no I/O.

/** A checkout workflow's attributes from its ID and input; none for another workflow type. */
export function checkoutSpanAttributes(workflowType: string, workflowId: string, input: unknown): Record<string, string> {
  if (workflowType !== 'checkout') return {};
  const { paymentId, merchantId } = (input ?? {}) as { paymentId?: unknown; merchantId?: unknown };
  return {
    'checkout.workflow_id': workflowId,
    ...(typeof paymentId === 'string' ? { 'payment.id': paymentId } : {}),
    ...(typeof merchantId === 'string' ? { 'merchant.id': merchantId } : {}),
  };
}
