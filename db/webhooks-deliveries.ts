// SQL for deliveries: one row per (event, endpoint), updated after each HTTP
// attempt, with every attempt kept in webhook_delivery_attempts.
import type pg from 'pg';
import type { WebhookEndpointRow } from './webhooks-endpoints';
import type { WebhookEventType } from './webhooks-events';
import { inTransaction, type Pool } from './pool';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface WebhookDeliveryRow {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  redeliveries: number;
  created_at: Date;
  updated_at: Date;
}

/** A delivery with what an attempt needs: the event's bytes and the endpoint. */
export interface DeliveryToSend {
  delivery: WebhookDeliveryRow;
  event: { id: string; type: WebhookEventType; body: string };
  endpoint: WebhookEndpointRow;
}

/**
 * Creates the deliveries of an event, one per active endpoint subscribed to
 * its type (none twice), and returns every delivery the event has.
 */
export async function createDeliveriesForEvent(db: Queryable, eventId: string, type: WebhookEventType): Promise<WebhookDeliveryRow[]> {
  await db.query(
    `INSERT INTO webhook_deliveries (id, event_id, endpoint_id)
     SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), $1, e.id
       FROM webhook_endpoints e
      WHERE e.status = 'active' AND $2 = ANY (e.events)
     ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
    [eventId, type],
  );
  const res = await db.query<WebhookDeliveryRow>('SELECT * FROM webhook_deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId]);
  return res.rows;
}

export async function findDelivery(db: Queryable, id: string): Promise<WebhookDeliveryRow | undefined> {
  const res = await db.query<WebhookDeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1', [id]);
  return res.rows[0];
}

export async function findDeliveryToSend(db: Queryable, id: string): Promise<DeliveryToSend | undefined> {
  const res = await db.query<{ delivery: WebhookDeliveryRow; event: DeliveryToSend['event']; endpoint: WebhookEndpointRow }>(
    `SELECT row_to_json(d) AS delivery,
            json_build_object('id', ev.id, 'type', ev.type, 'body', ev.body) AS event,
            row_to_json(e) AS endpoint
       FROM webhook_deliveries d
       JOIN webhook_events ev ON ev.id = d.event_id
       JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.id = $1`,
    [id],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  // row_to_json gives timestamps as strings
  const expires = row.endpoint.previous_secret_expires_at;
  return {
    delivery: row.delivery,
    event: row.event,
    endpoint: { ...row.endpoint, previous_secret_expires_at: expires ? new Date(expires) : null },
  };
}

export interface DeliveryListFilter {
  status?: WebhookDeliveryStatus;
  endpointId?: string;
  limit: number;
}

export async function listDeliveries(
  db: Queryable,
  filter: DeliveryListFilter,
): Promise<Array<WebhookDeliveryRow & { event_type: WebhookEventType; payment_id: string }>> {
  const res = await db.query<WebhookDeliveryRow & { event_type: WebhookEventType; payment_id: string }>(
    `SELECT d.*, ev.type AS event_type, ev.payment_id
       FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
      WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR d.endpoint_id = $2)
      ORDER BY d.created_at DESC, d.id
      LIMIT $3`,
    [filter.status ?? null, filter.endpointId ?? null, filter.limit],
  );
  return res.rows;
}

export type AttemptResult =
  | { kind: 'delivered'; statusCode: number }
  /** failed, another attempt in retryInMs */
  | { kind: 'retry'; statusCode?: number; error: string; retryInMs: number }
  /** failed, and that was the last attempt */
  | { kind: 'dead'; statusCode?: number; error: string }
  /** 410 Gone: the endpoint is disabled, this delivery ends */
  | { kind: 'gone'; statusCode: 410; error: string };

/** Records one HTTP attempt and the delivery's new state in one transaction. */
export async function recordAttempt(
  pool: Pool,
  delivery: { id: string; endpointId: string },
  attempt: number,
  result: AttemptResult,
  durationMs: number,
): Promise<void> {
  const statusCode = 'statusCode' in result ? (result.statusCode ?? null) : null;
  const error = 'error' in result ? result.error : null;
  const status: WebhookDeliveryStatus =
    result.kind === 'delivered' ? 'delivered' : result.kind === 'retry' ? 'pending' : result.kind === 'dead' ? 'dead' : 'cancelled';
  await inTransaction(pool, async (client) => {
    await client.query(
      'INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)',
      [delivery.id, attempt, statusCode, error, Math.round(durationMs)],
    );
    await client.query(
      `UPDATE webhook_deliveries
          SET status = $2, attempts = attempts + 1, last_status_code = $3, last_error = $4,
              next_attempt_at = CASE WHEN $5::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $5::float8) END,
              delivered_at = CASE WHEN $2 = 'delivered' THEN now() ELSE delivered_at END,
              updated_at = now()
        WHERE id = $1`,
      [delivery.id, status, statusCode, error, result.kind === 'retry' ? result.retryInMs / 1000 : null],
    );
    if (result.kind === 'gone') {
      await client.query(
        `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, updated_at = now()
          WHERE id = $1 AND status = 'active'`,
        [delivery.endpointId, 'the endpoint answered 410 Gone'],
      );
    }
  });
}

/** Ends a delivery whose endpoint is no longer active, without sending it. */
export async function cancelDelivery(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET status = 'cancelled', last_error = $2, next_attempt_at = NULL, updated_at = now()
      WHERE id = $1 AND status = 'pending'`,
    [id, reason],
  );
}

/** Counts redeliveries: the api names each redelivery's workflow after this number. */
export async function noteRedelivery(db: Queryable, id: string, redelivery: number): Promise<void> {
  await db.query('UPDATE webhook_deliveries SET redeliveries = greatest(redeliveries, $2), updated_at = now() WHERE id = $1', [
    id,
    redelivery,
  ]);
}

