// The webhook outbox: one row per payment event, inserted in the same
// transaction that records the payment's final status, so an event exists
// exactly when the status does. Dispatchers claim rows with a lease.
import crypto from 'node:crypto';
import type pg from 'pg';
import { activeTraceHeaders } from '../observability/stored-trace';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export const WEBHOOK_EVENT_TYPES = ['payment.completed', 'payment.failed', 'payment.refunded'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What a merchant receives: Standard Webhooks' recommended envelope. */
export interface WebhookEventBody {
  type: WebhookEventType;
  timestamp: string;
  data: { payment_id: string } & Record<string, unknown>;
}

export interface ClaimedEvent {
  id: string;
  type: WebhookEventType;
  /** The W3C trace context (traceparent, baggage) of the step that recorded it; absent when it was not traced. */
  traceContext?: Record<string, string>;
}

export function newEventId(): string {
  return `evt_${crypto.randomUUID().replace(/-/g, '')}`;
}

/**
 * Adds the event for a payment's final status, once: a re-executed activity
 * finds the row already there and gets its id back. The event belongs to the
 * payment's merchant, read from the payment row itself, so it can only ever
 * go to that merchant's endpoints.
 */
export async function insertPaymentEvent(
  db: Queryable,
  type: WebhookEventType,
  payment: WebhookEventBody['data'],
): Promise<string> {
  const body: WebhookEventBody = { type, timestamp: new Date().toISOString(), data: payment };
  const inserted = await db.query<{ id: string }>(
    `INSERT INTO webhook_events (id, type, payment_id, body, merchant_id, trace_context)
     SELECT $1, $2, $3, $4, p.merchant_id, $5 FROM payments p WHERE p.payment_id = $3
     ON CONFLICT (payment_id, type) DO NOTHING
     RETURNING id`,
    // the recording step's trace (SQL NULL when none), continued by the event's deliveries (worker/webhook-dispatcher.ts)
    [newEventId(), type, payment.payment_id, JSON.stringify(body), traceHeadersJson()],
  );
  if (inserted.rows[0]) return inserted.rows[0].id;
  const existing = await db.query<{ id: string }>('SELECT id FROM webhook_events WHERE payment_id = $1 AND type = $2', [
    payment.payment_id,
    type,
  ]);
  if (!existing.rows[0]) throw new Error(`webhook event ${type} for ${payment.payment_id} not inserted: no such payment`);
  return existing.rows[0].id;
}

/**
 * Takes up to `limit` undispatched events for `leaseMs`. Another dispatcher
 * skips them meanwhile; if this one dies, they are free again after the lease.
 */
export async function claimUndispatchedEvents(db: Queryable, limit: number, leaseMs: number): Promise<ClaimedEvent[]> {
  const res = await db.query<{ id: string; type: WebhookEventType; trace_context: Record<string, string> | null }>(
    `UPDATE webhook_events SET dispatch_claimed_until = now() + make_interval(secs => $2)
      WHERE id IN (
        SELECT id FROM webhook_events
         WHERE dispatched_at IS NULL AND (dispatch_claimed_until IS NULL OR dispatch_claimed_until < now())
         ORDER BY created_at
         LIMIT $1
         FOR UPDATE SKIP LOCKED)
      RETURNING id, type, trace_context`,
    [limit, leaseMs / 1000],
  );
  return res.rows.map(({ trace_context, ...event }) => (trace_context ? { ...event, traceContext: trace_context } : event));
}

function traceHeadersJson(): string | null {
  const headers = activeTraceHeaders();
  return headers && JSON.stringify(headers);
}

export async function markEventDispatched(db: Queryable, eventId: string): Promise<void> {
  await db.query('UPDATE webhook_events SET dispatched_at = now() WHERE id = $1 AND dispatched_at IS NULL', [eventId]);
}

export async function countUndispatchedEvents(db: Queryable): Promise<number> {
  const res = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events WHERE dispatched_at IS NULL');
  return res.rows[0]?.n ?? 0;
}
