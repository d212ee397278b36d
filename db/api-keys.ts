// SQL for API keys. Rows hold a key's hash and public prefix, never the key.
import crypto from 'node:crypto';
import type { Queryable } from './payments';

export interface ApiKeyRow {
  id: string;
  merchant_id: string | null;
  kind: 'secret' | 'restricted' | 'admin';
  prefix: string;
  hash: Buffer;
  label: string | null;
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
}

export interface NewApiKeyRow {
  merchantId: string | null;
  kind: ApiKeyRow['kind'];
  prefix: string;
  hash: Buffer;
  label?: string;
  expiresAt?: Date;
}

export function newApiKeyId(): string {
  return `key_${crypto.randomBytes(8).toString('hex')}`;
}

export async function insertApiKey(db: Queryable, k: NewApiKeyRow): Promise<ApiKeyRow> {
  const res = await db.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, merchant_id, kind, prefix, hash, label, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [newApiKeyId(), k.merchantId, k.kind, k.prefix, k.hash, k.label ?? null, k.expiresAt ?? null],
  );
  return res.rows[0] as ApiKeyRow;
}

export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<ApiKeyRow | undefined> {
  return (await db.query<ApiKeyRow>('SELECT * FROM api_keys WHERE prefix = $1', [prefix])).rows[0];
}

/** A merchant's keys (admin keys when merchantId is null), oldest first. */
export async function listApiKeys(db: Queryable, merchantId: string | null): Promise<ApiKeyRow[]> {
  const res = await db.query<ApiKeyRow>(
    'SELECT * FROM api_keys WHERE merchant_id IS NOT DISTINCT FROM $1 ORDER BY created_at, id',
    [merchantId],
  );
  return res.rows;
}

/** Revokes by id or prefix; a key already revoked keeps its first revocation time. */
export async function revokeApiKey(db: Queryable, idOrPrefix: string): Promise<ApiKeyRow | undefined> {
  const res = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
      WHERE id = $1 OR prefix = $1 RETURNING *`,
    [idOrPrefix],
  );
  return res.rows[0];
}

/** At most one write a minute per key: last use is for people, not an audit log. */
export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query(
    `UPDATE api_keys SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`,
    [id],
  );
}
