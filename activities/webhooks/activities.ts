// The delivery activity: one signed HTTP POST to a merchant's endpoint, its
// outcome recorded. It never throws for what the endpoint answers (that is an
// outcome the workflow acts on); it throws only when Postgres fails, and then
// Temporal retries it with jitter.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Agent } from 'undici';
import { cancelDelivery, findDeliveryToSend, recordAttempt, type AttemptResult } from '../../db/webhooks-deliveries';
import type { Pool } from '../../db/pool';
import type { DeliverWebhookInput, DeliverWebhookResult } from '../../domain/webhooks';
import { FailureType } from '../../errors';
import type { Logger } from '../../logger';
import type { WebhookTargetPolicy } from '../../outbound/webhook-target';
import { fullJitterDelayMs } from '../retry-delay';
import { maxAttempts, retryDelayMs, type RetrySchedule } from './retry-schedule';
import { createWebhookSender } from './send';
import { signWebhook } from './signing';

export interface WebhookActivityDeps {
  pool: Pool;
  /** Its own connection pool: merchants' endpoints are not the provider. */
  http: Agent;
  logger: Logger;
  /** Which endpoint URLs may be called, checked again at every attempt (outbound/webhook-target.ts). */
  targets: WebhookTargetPolicy;
  config: { requestTimeoutMs: number; schedule: RetrySchedule };
}

/** The HTTP client for endpoints: connect and whole-request timeouts, nothing kept alive for long. */
export function createWebhookHttpAgent(connectTimeoutMs: number): Agent {
  return new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 4_000, connections: 50 });
}

export function createWebhookActivities({ pool, http, logger, targets, config }: WebhookActivityDeps) {
  /** One POST to a checked address; any answer, error or refusal becomes a status code and/or an error text. */
  const post = createWebhookSender({ http, targets, requestTimeoutMs: config.requestTimeoutMs });

  return {
    async deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
      const ctx = Context.current();
      const log = logger.child({ deliveryId: input.deliveryId, attempt: input.attempt, workflowId: ctx.info.workflowExecution?.workflowId });
      try {
        const found = await findDeliveryToSend(pool, input.deliveryId);
        if (!found) throw ApplicationFailure.nonRetryable(`no webhook delivery ${input.deliveryId}`, FailureType.WebhookDeliveryUnknown);
        const { delivery, event, endpoint, secrets } = found;
        if (endpoint.status !== 'active') {
          const reason = `endpoint ${endpoint.status}; not sent`;
          await cancelDelivery(pool, delivery.id, reason);
          log.info({ endpointId: endpoint.id }, 'webhook not sent: endpoint not active');
          return { done: true, status: 'cancelled', attempts: delivery.attempts, lastError: reason };
        }

        const now = new Date();
        // every secret not yet expired signs, so a receiver holding any of them verifies
        const headers = signWebhook(secrets, event.id, now, event.body);
        const t0 = performance.now();
        const answer = await post(endpoint.url, { ...headers }, event.body, ctx.cancellationSignal);
        const durationMs = performance.now() - t0;

        const statusCode = answer.statusCode;
        let result: AttemptResult;
        if (statusCode !== undefined && statusCode >= 200 && statusCode < 300) {
          result = { kind: 'delivered', statusCode };
        } else if (statusCode === 410) {
          result = { kind: 'gone', statusCode, error: 'the endpoint answered 410 Gone; endpoint disabled' };
        } else {
          const error = answer.error ?? `the endpoint answered ${statusCode}`;
          const retryInMs = retryDelayMs(config.schedule, input.attempt);
          result = retryInMs === undefined ? { kind: 'dead', statusCode, error } : { kind: 'retry', statusCode, error, retryInMs };
        }
        await recordAttempt(pool, { id: delivery.id, endpointId: endpoint.id }, input.attempt, result, durationMs);
        const attempts = delivery.attempts + 1;
        switch (result.kind) {
          case 'delivered':
            log.info({ statusCode, eventId: event.id }, 'webhook delivered');
            return { done: true, status: 'delivered', attempts, lastStatusCode: statusCode };
          case 'gone':
            log.warn({ endpointId: endpoint.id }, 'endpoint answered 410 Gone; disabled it');
            return { done: true, status: 'cancelled', attempts, lastStatusCode: 410, lastError: result.error };
          case 'dead':
            log.warn({ error: result.error, maxAttempts: maxAttempts(config.schedule) }, 'webhook dead-lettered after its last attempt');
            return { done: true, status: 'dead', attempts, lastStatusCode: statusCode, lastError: result.error };
          case 'retry':
            log.info({ error: result.error, retryInMs: result.retryInMs }, 'webhook attempt failed; will retry');
            return { done: false, retryInMs: result.retryInMs, lastStatusCode: statusCode, lastError: result.error };
        }
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err;
        // Postgres trouble: try this attempt again soon, jittered (the endpoint may see it twice: at-least-once)
        const delayMs = fullJitterDelayMs(ctx.info.attempt, { initialIntervalMs: 1_000, maximumIntervalMs: 60_000 });
        log.warn({ err: (err as Error).message, nextRetryDelayMs: delayMs }, 'webhook attempt could not be recorded; will retry');
        throw ApplicationFailure.create({ message: (err as Error).message, type: FailureType.WebhookStoreUnavailable, nextRetryDelay: delayMs });
      }
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
