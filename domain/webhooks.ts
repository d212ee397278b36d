// Names and types that cross the webhook delivery workflow / activity /
// dispatcher / api line. Imported by workflow code: no I/O.

export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';

/**
 * Deliveries run on a task queue of their own, next to the checkout's: a
 * backlog of them (an endpoint back after a day) takes its own worker slots,
 * never the checkout's, and does not count against the checkout queue's
 * provider rate limit.
 */
export function webhookTaskQueue(checkoutTaskQueue: string): string {
  return `${checkoutTaskQueue}-webhooks`;
}

/** The delivery workflow's ID; a redelivery through the api gets its own, numbered. */
export function webhookDeliveryWorkflowId(eventId: string, endpointId: string, redelivery = 0): string {
  const base = `webhook-${eventId}-${endpointId}`;
  return redelivery === 0 ? base : `${base}-redelivery-${redelivery}`;
}

export interface WebhookDeliveryInput {
  deliveryId: string;
}

export interface DeliverWebhookInput {
  deliveryId: string;
  /** 1 for the first attempt of this workflow run. */
  attempt: number;
}

export type DeliverWebhookResult =
  | { done: true; status: 'delivered' | 'dead' | 'cancelled'; attempts: number; lastStatusCode?: number; lastError?: string }
  | { done: false; retryInMs: number; lastStatusCode?: number; lastError: string };
