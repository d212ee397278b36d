// SQL for the endpoints merchants register. Every query names the merchant:
// another merchant's endpoint is not found, exactly like a missing one.
// Deleting is a soft delete: past deliveries keep pointing at their endpoint.
import crypto from 'node:crypto';
import type pg from 'pg';
import { inTransaction, type Pool } from './pool';
import type { WebhookEventType } from './webhooks-events';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export type WebhookEndpointStatus = 'active' | 'disabled' | 'deleted';

export interface WebhookEndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  events: WebhookEventType[];
  status: WebhookEndpointStatus;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
  /** when the last of its retired secrets stops signing; null when only the current one signs */
  previous_secret_expires_at: Date | null;
}

/** A new signing secret in the Standard Webhooks form: whsec_ and 24 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(24).toString('base64')}`;
}

export function newEndpointId(): string {
  return `we_${crypto.randomBytes(12).toString('hex')}`;
}

// The endpoint's columns, and the latest expiry among its retired secrets
// still signing. The secret columns of 004 are never selected (013 says why
// they stay).
const ENDPOINT_COLUMNS = `e.id, e.merchant_id, e.url, e.events, e.status, e.disabled_reason, e.created_at, e.updated_at,
  (SELECT max(s.expires_at) FROM webhook_endpoint_secrets s WHERE s.endpoint_id = e.id AND s.expires_at > now()) AS previous_secret_expires_at`;

export interface NewEndpoint {
  id: string;
  merchantId: string;
  url: string;
  events: WebhookEventType[];
  secret: string;
}

/** Inserts an endpoint and its first secret, in one statement. */
export async function insertEndpoint(db: Queryable, endpoint: NewEndpoint): Promise<WebhookEndpointRow> {
  const res = await db.query<WebhookEndpointRow>(
    `WITH e AS (
       INSERT INTO webhook_endpoints (id, merchant_id, url, events, secret) VALUES ($1, $2, $3, $4, $5) RETURNING *
     ), s AS (
       INSERT INTO webhook_endpoint_secrets (endpoint_id, secret) SELECT id, secret FROM e
     )
     SELECT e.id, e.merchant_id, e.url, e.events, e.status, e.disabled_reason, e.created_at, e.updated_at,
            NULL::timestamptz AS previous_secret_expires_at
       FROM e`,
    [endpoint.id, endpoint.merchantId, endpoint.url, endpoint.events, endpoint.secret],
  );
  return res.rows[0] as WebhookEndpointRow;
}

export type CreateEndpointResult = { kind: 'created'; row: WebhookEndpointRow } | { kind: 'limit_reached'; limit: number };

/**
 * Inserts the endpoint unless the merchant already has `limit` endpoints not
 * deleted. A lock per merchant (for this transaction) serialises concurrent
 * creations, so two at once cannot both take the last place.
 */
export async function insertEndpointWithinLimit(pool: Pool, endpoint: NewEndpoint, limit: number): Promise<CreateEndpointResult> {
  return inTransaction(pool, async (client) => {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('webhook-endpoints:' || $1))", [endpoint.merchantId]);
    const counted = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM webhook_endpoints WHERE merchant_id = $1 AND status <> 'deleted'",
      [endpoint.merchantId],
    );
    if ((counted.rows[0]?.n ?? 0) >= limit) return { kind: 'limit_reached', limit };
    return { kind: 'created', row: await insertEndpoint(client, endpoint) };
  });
}

/** The merchant's endpoints not deleted, oldest first. */
export async function listEndpoints(db: Queryable, merchantId: string): Promise<WebhookEndpointRow[]> {
  const res = await db.query<WebhookEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.merchant_id = $1 AND e.status <> 'deleted' ORDER BY e.created_at, e.id`,
    [merchantId],
  );
  return res.rows;
}

export async function findEndpoint(db: Queryable, merchantId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  const res = await db.query<WebhookEndpointRow>(
    `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints e WHERE e.id = $1 AND e.merchant_id = $2 AND e.status <> 'deleted'`,
    [id, merchantId],
  );
  return res.rows[0];
}

/** Disables the merchant's endpoint (not deleted); undefined if there is none. */
export async function disableEndpoint(db: Queryable, merchantId: string, id: string, reason: string): Promise<WebhookEndpointRow | undefined> {
  const res = await db.query<WebhookEndpointRow>(
    `WITH e AS (
       UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $3, updated_at = now()
        WHERE id = $1 AND merchant_id = $2 AND status <> 'deleted' RETURNING *
     )
     SELECT ${ENDPOINT_COLUMNS} FROM e`,
    [id, merchantId, reason],
  );
  return res.rows[0];
}

export async function deleteEndpoint(db: Queryable, merchantId: string, id: string): Promise<boolean> {
  const res = await db.query(
    "UPDATE webhook_endpoints SET status = 'deleted', updated_at = now() WHERE id = $1 AND merchant_id = $2 AND status <> 'deleted'",
    [id, merchantId],
  );
  return res.rowCount === 1;
}

/** More secrets than this still signing (current included) and a rotation is refused: each one lengthens every delivery's header. */
export const MAX_LIVE_SECRETS = 10;

export type RotationResult =
  | { kind: 'rotated' | 'replayed'; row: WebhookEndpointRow; secret: string }
  | { kind: 'not_found' }
  /** the Idempotency-Key was used for a rotation of another endpoint */
  | { kind: 'key_reused'; endpointId: string }
  | { kind: 'too_many_secrets'; live: number };

/**
 * Rotates the merchant's endpoint: the current secret expires graceMs from
 * now (earlier retired secrets keep their own expiry) and `newSecret` becomes
 * current. Under an idempotency key, the first rotation is recorded with the
 * key and any later call with it gets that rotation's secret back and changes
 * nothing. Locks on the key and on the endpoint's row serialise concurrent calls.
 */
export async function rotateEndpointSecret(
  pool: Pool,
  rotation: { merchantId: string; endpointId: string; newSecret: string; graceMs: number; idempotencyKey?: string },
): Promise<RotationResult> {
  const { merchantId, endpointId, idempotencyKey } = rotation;
  return inTransaction(pool, async (client) => {
    // one key at a time (whatever endpoint it names), then one rotation of the endpoint at a time
    if (idempotencyKey !== undefined) {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('webhook-rotation:' || $1 || ':' || $2))", [merchantId, idempotencyKey]);
    }
    const locked = await client.query(
      "SELECT 1 FROM webhook_endpoints WHERE id = $1 AND merchant_id = $2 AND status <> 'deleted' FOR NO KEY UPDATE",
      [endpointId, merchantId],
    );
    if (locked.rowCount === 0) return { kind: 'not_found' };

    if (idempotencyKey !== undefined) {
      const earlier = await client.query<{ endpoint_id: string; secret: string }>(
        `SELECT r.endpoint_id, s.secret FROM webhook_secret_rotations r JOIN webhook_endpoint_secrets s ON s.id = r.secret_id
          WHERE r.merchant_id = $1 AND r.idempotency_key = $2`,
        [merchantId, idempotencyKey],
      );
      const found = earlier.rows[0];
      if (found && found.endpoint_id !== endpointId) return { kind: 'key_reused', endpointId: found.endpoint_id };
      if (found) return { kind: 'replayed', row: await mustFind(client, merchantId, endpointId), secret: found.secret };
    }

    const live = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_endpoint_secrets WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now())',
      [endpointId],
    );
    const liveCount = live.rows[0]?.n ?? 0;
    if (liveCount >= MAX_LIVE_SECRETS) return { kind: 'too_many_secrets', live: liveCount };

    await client.query('UPDATE webhook_endpoint_secrets SET expires_at = now() + make_interval(secs => $2) WHERE endpoint_id = $1 AND expires_at IS NULL', [
      endpointId,
      rotation.graceMs / 1000,
    ]);
    const added = await client.query<{ id: string }>('INSERT INTO webhook_endpoint_secrets (endpoint_id, secret) VALUES ($1, $2) RETURNING id', [
      endpointId,
      rotation.newSecret,
    ]);
    // 004's columns, for workers of the previous release (013)
    await client.query(
      `UPDATE webhook_endpoints
          SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => $3), secret = $2, updated_at = now()
        WHERE id = $1`,
      [endpointId, rotation.newSecret, rotation.graceMs / 1000],
    );
    if (idempotencyKey !== undefined) {
      await client.query('INSERT INTO webhook_secret_rotations (merchant_id, idempotency_key, endpoint_id, secret_id) VALUES ($1, $2, $3, $4)', [
        merchantId,
        idempotencyKey,
        endpointId,
        added.rows[0]?.id,
      ]);
    }
    return { kind: 'rotated', row: await mustFind(client, merchantId, endpointId), secret: rotation.newSecret };
  });
}

async function mustFind(db: Queryable, merchantId: string, id: string): Promise<WebhookEndpointRow> {
  const row = await findEndpoint(db, merchantId, id);
  if (!row) throw new Error(`webhook endpoint ${id} vanished under its lock`);
  return row;
}

/** The secrets that sign a delivery now, current first: every one not yet expired. */
export async function liveSecrets(db: Queryable, endpointId: string): Promise<string[]> {
  const res = await db.query<{ secret: string }>(
    `SELECT secret FROM webhook_endpoint_secrets
      WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now())
      ORDER BY expires_at DESC NULLS FIRST, id DESC`,
    [endpointId],
  );
  return res.rows.map((r) => r.secret);
}
