// One workflow per delivery (one event to one endpoint), ID
// `webhook-<eventId>-<endpointId>`. Why per delivery and not per endpoint:
// - the deterministic ID makes dispatch idempotent: the outbox dispatcher may
//   start it again after a crash and Temporal refuses the duplicate;
// - deliveries fail and retry independently: one event stuck on a bad payload
//   or a slow answer holds nothing else back, and a history stays small (at
//   most ten attempts and nine timers) with no continue-as-new;
// - it spreads across every worker of the task queue; a per-endpoint workflow
//   would be one hot spot per busy merchant.
// What per-endpoint would give (strict ordering, one pause for a dead
// endpoint) Standard Webhooks does not promise: receivers order by the event's
// timestamp and dedupe on webhook-id.
//
// The waits are durable timers in the workflow (not activity retries), so the
// time-skipping server runs the whole 3-day schedule in seconds and a
// configured schedule compresses it for drills. The activity decides each wait
// (from the worker's config, with jitter); its answer is in the history, so a
// replay makes the same choice.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks/activities';
import type { DeliverWebhookResult, WebhookDeliveryInput } from '../domain/webhooks';
import { FailureType } from '../errors';

// One HTTP attempt (request timeout at most 30 s, config.ts) plus its bookkeeping
// in Postgres; no more, so an attempt lost with a crashed worker is retried soon. What the endpoint answers is an outcome, not an error; only a
// Postgres failure throws, retried patiently with the activity's own jitter.
const { deliverWebhook } = proxyActivities<WebhookActivities>({
  startToCloseTimeout: '40s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 100, nonRetryableErrorTypes: [FailureType.WebhookDeliveryUnknown] },
});

export async function webhookDelivery(input: WebhookDeliveryInput): Promise<Extract<DeliverWebhookResult, { done: true }>> {
  for (let attempt = 1; ; attempt += 1) {
    const result = await deliverWebhook({ deliveryId: input.deliveryId, attempt });
    if (result.done) return result;
    await sleep(result.retryInMs);
  }
}
