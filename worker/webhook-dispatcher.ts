// The outbox dispatcher: takes payment events the checkout committed and
// starts one delivery workflow per (event, endpoint), an event going only to
// endpoints of the merchant whose payment it is. It runs in every worker,
// apart from the checkout, so a webhook can never slow or fail a payment.
//
// Nothing is lost between the commit and Temporal: the event row is written in
// the payment's own transaction; a dispatcher claims it with a lease, starts the
// workflows under deterministic IDs (a second start of the same ID is refused,
// so a dispatch repeated after a crash is harmless) and only then marks it
// dispatched. A worker that dies mid-way leaves its claim to expire, and the
// next sweep of any worker finishes the job.
//
// An event recorded by a traced checkout step carries that step's trace
// context: its dispatch is a span in the checkout's trace, and the delivery
// workflows it starts continue it (docs/design.md, "Traces and correlation").
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { createDeliveriesForEvent, type WebhookDeliveryRow } from '../db/webhooks-deliveries';
import { claimUndispatchedEvents, markEventDispatched, type ClaimedEvent } from '../db/webhooks-events';
import type { Logger } from '../logger';
import { inStoredTrace } from '../observability/stored-trace';
import { startDeliveryWorkflow } from '../workflow-starts/webhook-delivery';

export interface WebhookDispatcherDeps {
  pool: Pool;
  client: Client;
  /** The webhook task queue (webhookTaskQueue() of the checkout's). */
  taskQueue: string;
  logger: Logger;
  config: { intervalMs: number; batchSize: number; leaseMs: number };
}

// workflow starts in flight at once for one batch
const START_CONCURRENCY = 16;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: WebhookDispatcherDeps) {}

  /** One sweep: claims up to a batch of events and dispatches each; returns how many were dispatched. */
  async dispatchPending(): Promise<number> {
    const events = await claimUndispatchedEvents(this.deps.pool, this.deps.config.batchSize, this.deps.config.leaseMs);
    let dispatched = 0;
    let next = 0;
    const worker = async () => {
      while (next < events.length) {
        const event = events[next++] as ClaimedEvent;
        try {
          await this.dispatchEvent(event);
          dispatched += 1;
        } catch (err) {
          // left claimed: a later sweep takes it once the lease has passed
          this.deps.logger.warn({ eventId: event.id, err: (err as Error).message }, 'webhook event not dispatched; will retry');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, events.length) }, worker));
    return dispatched;
  }

  /**
   * Creates the event's deliveries (to its own merchant's endpoints only),
   * starts each one's workflow, then marks the event dispatched.
   */
  async dispatchEvent(event: ClaimedEvent): Promise<WebhookDeliveryRow[]> {
    const attributes = { 'webhook.event_id': event.id, 'webhook.event_type': event.type };
    return inStoredTrace(event.traceContext, 'dispatch webhook event', attributes, async () => {
      const deliveries = await createDeliveriesForEvent(this.deps.pool, event.id);
      for (const delivery of deliveries) await startDeliveryWorkflow(this.deps.client, this.deps.taskQueue, delivery);
      await markEventDispatched(this.deps.pool, event.id);
      return deliveries;
    });
  }

  /** Sweeps every interval (jittered, so workers do not sweep in step); at once again after a full batch. */
  start(): void {
    const loop = async () => {
      let dispatched = 0;
      try {
        dispatched = await this.dispatchPending();
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message }, 'webhook dispatch sweep failed; will retry');
      }
      if (this.stopped) return;
      const full = dispatched >= this.deps.config.batchSize;
      const waitMs = full ? 0 : Math.round(this.deps.config.intervalMs * (0.5 + Math.random()));
      this.timer = setTimeout(() => {
        this.running = loop();
      }, waitMs);
    };
    this.running = loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
