// Issuing a key: a new random key, its hash stored, the key itself returned
// once to the caller (the operator command, the local stack's first start).
import { insertApiKey, type ApiKeyRow } from '../db/api-keys';
import type { Queryable } from '../db/payments';
import { generateApiKey, type ApiKeyEnv, type ApiKeyKind } from './api-key';

export interface IssueKeyOptions {
  /** null only for an admin key */
  merchantId: string | null;
  kind: ApiKeyKind;
  env: ApiKeyEnv;
  pepper: string;
  label?: string;
  expiresAt?: Date;
}

export async function issueApiKey(db: Queryable, options: IssueKeyOptions): Promise<{ key: string; row: ApiKeyRow }> {
  if ((options.kind === 'admin') !== (options.merchantId === null)) {
    throw new Error(options.kind === 'admin' ? 'an admin key belongs to no merchant' : `a ${options.kind} key needs a merchant`);
  }
  const { key, prefix, hash } = generateApiKey(options.env, options.pepper);
  const row = await insertApiKey(db, { merchantId: options.merchantId, kind: options.kind, prefix, hash, label: options.label, expiresAt: options.expiresAt });
  return { key, row };
}
