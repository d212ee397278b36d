// Merchants and keys for tests, made the way the operator command makes them
// (accounts/issue-key.ts), under the pepper testEnv gives every test api.
import crypto from 'node:crypto';
import type { ApiKeyKind } from '../../accounts/api-key';
import { issueApiKey } from '../../accounts/issue-key';
import { insertMerchant } from '../../db/merchants';
import type { Queryable } from '../../db/payments';

/** One pepper per test process: every api a test file builds reads it from testEnv. */
export const TEST_API_KEY_PEPPER = crypto.randomBytes(32).toString('base64url');

export interface TestMerchant {
  merchantId: string;
  /** a secret key of the merchant */
  apiKey: string;
  keyId: string;
}

export async function createTestMerchant(db: Queryable, name = 'test merchant'): Promise<TestMerchant> {
  const merchant = await insertMerchant(db, name);
  const { key, row } = await issueApiKey(db, { merchantId: merchant.id, kind: 'secret', env: 'test', pepper: TEST_API_KEY_PEPPER });
  return { merchantId: merchant.id, apiKey: key, keyId: row.id };
}

/** Another key: of the merchant, or an admin key (merchantId null). */
export async function createTestKey(
  db: Queryable,
  merchantId: string | null,
  kind: ApiKeyKind,
  options: { expiresAt?: Date } = {},
): Promise<{ apiKey: string; keyId: string }> {
  const { key, row } = await issueApiKey(db, { merchantId, kind, env: 'test', pepper: TEST_API_KEY_PEPPER, expiresAt: options.expiresAt });
  return { apiKey: key, keyId: row.id };
}

export function bearer(apiKey: string): Record<string, string> {
  return { authorization: `Bearer ${apiKey}` };
}
