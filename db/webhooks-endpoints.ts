// SQL for the endpoints merchants register. Deleting is a soft delete: past
// deliveries keep pointing at their endpoint.
import crypto from 'node:crypto';
import type pg from 'pg';
import type { WebhookEventType } from './webhooks-events';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export type WebhookEndpointStatus = 'active' | 'disabled' | 'deleted';

export interface WebhookEndpointRow {
  id: string;
  url: string;
  events: WebhookEventType[];
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  status: WebhookEndpointStatus;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/** A new signing secret in the Standard Webhooks form: whsec_ and 24 random bytes, base64. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(24).toString('base64')}`;
}

export function newEndpointId(): string {
  return `we_${crypto.randomBytes(12).toString('hex')}`;
}

export async function insertEndpoint(
  db: Queryable,
  endpoint: { id: string; url: string; events: WebhookEventType[]; secret: string },
): Promise<WebhookEndpointRow> {
  const res = await db.query<WebhookEndpointRow>(
    'INSERT INTO webhook_endpoints (id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING *',
    [endpoint.id, endpoint.url, endpoint.events, endpoint.secret],
  );
  return res.rows[0] as WebhookEndpointRow;
}

/** Endpoints not deleted, oldest first. */
export async function listEndpoints(db: Queryable): Promise<WebhookEndpointRow[]> {
  const res = await db.query<WebhookEndpointRow>("SELECT * FROM webhook_endpoints WHERE status <> 'deleted' ORDER BY created_at, id");
  return res.rows;
}

export async function findEndpoint(db: Queryable, id: string): Promise<WebhookEndpointRow | undefined> {
  const res = await db.query<WebhookEndpointRow>("SELECT * FROM webhook_endpoints WHERE id = $1 AND status <> 'deleted'", [id]);
  return res.rows[0];
}

/** Disables an endpoint not deleted; undefined if there is none. */
export async function disableEndpoint(db: Queryable, id: string, reason: string): Promise<WebhookEndpointRow | undefined> {
  const res = await db.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = $2, updated_at = now()
      WHERE id = $1 AND status <> 'deleted' RETURNING *`,
    [id, reason],
  );
  return res.rows[0];
}

export async function deleteEndpoint(db: Queryable, id: string): Promise<boolean> {
  const res = await db.query(
    "UPDATE webhook_endpoints SET status = 'deleted', updated_at = now() WHERE id = $1 AND status <> 'deleted'",
    [id],
  );
  return res.rowCount === 1;
}

/** The new secret signs from now on; the current one keeps signing until graceMs from now. */
export async function rotateEndpointSecret(
  db: Queryable,
  id: string,
  newSecret: string,
  graceMs: number,
): Promise<WebhookEndpointRow | undefined> {
  const res = await db.query<WebhookEndpointRow>(
    `UPDATE webhook_endpoints
        SET previous_secret = secret, previous_secret_expires_at = now() + make_interval(secs => $3),
            secret = $2, updated_at = now()
      WHERE id = $1 AND status <> 'deleted' RETURNING *`,
    [id, newSecret, graceMs / 1000],
  );
  return res.rows[0];
}

/** The secrets that sign a delivery now: the current one, and the previous one while it is still valid. */
export function signingSecrets(endpoint: Pick<WebhookEndpointRow, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>, now: Date): string[] {
  const secrets = [endpoint.secret];
  if (endpoint.previous_secret && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now) {
    secrets.push(endpoint.previous_secret);
  }
  return secrets;
}
