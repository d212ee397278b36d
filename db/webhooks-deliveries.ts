// SQL for deliveries: one row per (event, endpoint), updated after each HTTP
// attempt, with every attempt kept in webhook_delivery_attempts. A delivery
// belongs to its event's merchant; what a merchant reads or changes names it.
import type pg from 'pg';
import { liveSecrets, type WebhookEndpointRow } from './webhooks-endpoints';
import type { WebhookEventType } from './webhooks-events';
import { inTransaction, type Pool } from './pool';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'dead', 'cancelled'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface WebhookDeliveryRow {
  id: string;
  merchant_id: string;
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

/** A delivery with what an attempt needs: the event's bytes, the endpoint, and every secret that signs now. */
export interface DeliveryToSend {
  delivery: WebhookDeliveryRow;
  event: { id: string; type: WebhookEventType; body: string };
  endpoint: Pick<WebhookEndpointRow, 'id' | 'url' | 'status'>;
  /** current first; never empty for an endpoint made through insertEndpoint */
  secrets: string[];
}

/**
 * Creates the deliveries of an event, one per active endpoint of the event's
 * own merchant subscribed to its type (none twice), and returns every
 * delivery the event has. Merchant and type are read from the event row.
 */
export async function createDeliveriesForEvent(db: Queryable, eventId: string): Promise<WebhookDeliveryRow[]> {
  await db.query(
    `INSERT INTO webhook_deliveries (id, event_id, endpoint_id, merchant_id)
     SELECT 'whd_' || replace(gen_random_uuid()::text, '-', ''), ev.id, e.id, ev.merchant_id
       FROM webhook_events ev
       JOIN webhook_endpoints e ON e.merchant_id = ev.merchant_id AND e.status = 'active' AND ev.type = ANY (e.events)
      WHERE ev.id = $1
     ON CONFLICT (event_id, endpoint_id) DO NOTHING`,
    [eventId],
  );
  const res = await db.query<WebhookDeliveryRow>('SELECT * FROM webhook_deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId]);
  return res.rows;
}

/** The merchant's delivery; undefined for a missing one and for another merchant's alike. */
export async function findDelivery(db: Queryable, merchantId: string, id: string): Promise<WebhookDeliveryRow | undefined> {
  const res = await db.query<WebhookDeliveryRow>('SELECT * FROM webhook_deliveries WHERE id = $1 AND merchant_id = $2', [id, merchantId]);
  return res.rows[0];
}

export async function findDeliveryToSend(db: Queryable, id: string): Promise<DeliveryToSend | undefined> {
  const res = await db.query<{ delivery: WebhookDeliveryRow; event: DeliveryToSend['event']; endpoint: DeliveryToSend['endpoint'] }>(
    `SELECT row_to_json(d) AS delivery,
            json_build_object('id', ev.id, 'type', ev.type, 'body', ev.body) AS event,
            json_build_object('id', e.id, 'url', e.url, 'status', e.status) AS endpoint
       FROM webhook_deliveries d
       JOIN webhook_events ev ON ev.id = d.event_id
       JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.id = $1`,
    [id],
  );
  const row = res.rows[0];
  if (!row) return undefined;
  return { ...row, secrets: await liveSecrets(db, row.endpoint.id) };
}

export interface DeliveryListFilter {
  status?: WebhookDeliveryStatus;
  endpointId?: string;
  limit: number;
}

export type ListedDelivery = WebhookDeliveryRow & { event_type: WebhookEventType; payment_id: string };

const LIST_SQL = `SELECT d.*, ev.type AS event_type, ev.payment_id
       FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id
      WHERE ($1::text IS NULL OR d.status = $1) AND ($2::text IS NULL OR d.endpoint_id = $2) AND ($4::text IS NULL OR d.merchant_id = $4)
      ORDER BY d.created_at DESC, d.id
      LIMIT $3`;

/** The merchant's deliveries, newest first. */
export async function listDeliveries(db: Queryable, merchantId: string, filter: DeliveryListFilter): Promise<ListedDelivery[]> {
  const res = await db.query<ListedDelivery>(LIST_SQL, [filter.status ?? null, filter.endpointId ?? null, filter.limit, merchantId]);
  return res.rows;
}

/** Every merchant's deliveries, or one's: for operators (admin keys) only. */
export async function listDeliveriesOfAllMerchants(
  db: Queryable,
  filter: DeliveryListFilter & { merchantId?: string },
): Promise<ListedDelivery[]> {
  const res = await db.query<ListedDelivery>(LIST_SQL, [filter.status ?? null, filter.endpointId ?? null, filter.limit, filter.merchantId ?? null]);
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

/** The rate window of redeliveries per merchant, in seconds. */
export const REDELIVERY_WINDOW_SECONDS = 60;

/** A redelivery taken: the delivery is pending again under this number, until released. */
export interface RedeliveryClaim {
  delivery: WebhookDeliveryRow;
  redelivery: number;
  /** the delivery's status and attempts before the claim, to put back if the workflow cannot start */
  before: { status: WebhookDeliveryStatus; attempts: number };
}

export type RedeliveryResult =
  | { kind: 'claimed'; claim: RedeliveryClaim }
  | { kind: 'not_found' }
  /** pending: its workflow (first delivery or an earlier redelivery) is still at it */
  | { kind: 'in_progress' }
  | { kind: 'endpoint_not_active'; endpointStatus: string }
  /** the merchant asked for perMinute redeliveries in the last minute; a slot frees in retryAfterMs */
  | { kind: 'rate_limited'; perMinute: number; retryAfterMs: number };

/**
 * Takes the next redelivery of the merchant's delivery: refused while it is
 * pending, when its endpoint is not active, and past `perMinute` redeliveries
 * of the merchant in a minute. Taking it marks the delivery pending, so a
 * second request is refused until this redelivery ends; a lock per merchant
 * keeps concurrent requests from overshooting the rate.
 */
export async function claimRedelivery(pool: Pool, merchantId: string, deliveryId: string, perMinute: number): Promise<RedeliveryResult> {
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('webhook-redeliveries:' || $1))", [merchantId]);
    const found = await client.query<WebhookDeliveryRow & { endpoint_status: string }>(
      `SELECT d.*, e.status AS endpoint_status
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
        WHERE d.id = $1 AND d.merchant_id = $2
          FOR UPDATE OF d`,
      [deliveryId, merchantId],
    );
    const row = found.rows[0];
    if (!row) return { kind: 'not_found' };
    if (row.status === 'pending') return { kind: 'in_progress' };
    if (row.endpoint_status !== 'active') return { kind: 'endpoint_not_active', endpointStatus: row.endpoint_status };
    // the perMinute-th newest redelivery in the window: while it is there the merchant is at the limit
    const full = await client.query<{ retry_after_ms: number }>(
      `SELECT greatest(0, extract(epoch FROM requested_at + make_interval(secs => $2) - clock_timestamp()) * 1000)::float8 AS retry_after_ms
         FROM webhook_redeliveries
        WHERE merchant_id = $1 AND requested_at > now() - make_interval(secs => $2)
        ORDER BY requested_at DESC
       OFFSET $3 LIMIT 1`,
      [merchantId, REDELIVERY_WINDOW_SECONDS, perMinute - 1],
    );
    if (full.rows[0]) return { kind: 'rate_limited', perMinute, retryAfterMs: full.rows[0].retry_after_ms };

    const redelivery = row.redeliveries + 1;
    const updated = await client.query<WebhookDeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'pending', redeliveries = $2, next_attempt_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [deliveryId, redelivery],
    );
    await client.query('INSERT INTO webhook_redeliveries (delivery_id, redelivery, merchant_id) VALUES ($1, $2, $3)', [deliveryId, redelivery, merchantId]);
    const delivery = updated.rows[0] as WebhookDeliveryRow;
    return { kind: 'claimed', claim: { delivery, redelivery, before: { status: row.status, attempts: row.attempts } } };
  });
}

/**
 * Gives a claim back when its workflow could not be started: the delivery's
 * status and count as before, and the redelivery not counted against the rate.
 * Changes nothing if an attempt was recorded meanwhile (the workflow did start).
 */
export async function releaseRedelivery(pool: Pool, claim: RedeliveryClaim): Promise<void> {
  await inTransaction(pool, async (client) => {
    const reverted = await client.query(
      `UPDATE webhook_deliveries SET status = $3, redeliveries = $2 - 1, updated_at = now()
        WHERE id = $1 AND redeliveries = $2 AND status = 'pending' AND attempts = $4`,
      [claim.delivery.id, claim.redelivery, claim.before.status, claim.before.attempts],
    );
    if (reverted.rowCount === 1) {
      await client.query('DELETE FROM webhook_redeliveries WHERE delivery_id = $1 AND redelivery = $2', [claim.delivery.id, claim.redelivery]);
    }
  });
}

