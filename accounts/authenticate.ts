// Who is calling: the key in `Authorization: Bearer sk_...`, checked against
// its stored hash. The answer says why a key was refused (missing, unknown,
// revoked, expired), never which part of it was wrong.
import { findApiKeyByPrefix, touchApiKey, type ApiKeyRow } from '../db/api-keys';
import type { Queryable } from '../db/payments';
import { hashApiKey, keyMatches, prefixOf, type ApiKeyKind } from './api-key';

/** touchApiKey's own window: it writes at most once a minute per key. */
const TOUCH_AFTER_MS = 60_000;

export interface Caller {
  keyId: string;
  kind: ApiKeyKind;
  /** null for an admin key */
  merchantId: string | null;
}

export type Authentication =
  | { ok: true; caller: Caller }
  | { ok: false; reason: 'missing' | 'invalid' | 'revoked' | 'expired' };

export async function authenticate(db: Queryable, authorization: string | undefined, pepper: string): Promise<Authentication> {
  const key = bearerOf(authorization);
  if (key === undefined) return { ok: false, reason: 'missing' };
  const prefix = prefixOf(key);
  const row = prefix ? await findApiKeyByPrefix(db, prefix) : undefined;
  if (!row) {
    // the same work as a found key, so a miss does not answer faster
    hashApiKey(key, pepper);
    return { ok: false, reason: 'invalid' };
  }
  if (!keyMatches(key, row.hash, pepper)) return { ok: false, reason: 'invalid' };
  if (row.revoked_at) return { ok: false, reason: 'revoked' };
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
  // last use is best effort, to the minute: never a reason to refuse or slow a
  // request, and no write at all while the stored time is recent
  if (row.last_used_at === null || Date.now() - row.last_used_at.getTime() > TOUCH_AFTER_MS) {
    void touchApiKey(db, row.id).catch(() => undefined);
  }
  return { ok: true, caller: callerOf(row) };
}

function callerOf(row: ApiKeyRow): Caller {
  return { keyId: row.id, kind: row.kind, merchantId: row.merchant_id };
}

/** The token of a Bearer header; undefined when there is none. */
function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match ? match[1] : header.trim() === '' ? undefined : '';
}
