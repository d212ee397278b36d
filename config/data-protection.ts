import { z } from 'zod';
import { ConfigError } from '../errors';

// ---- what Temporal stores of a checkout: payload keys and the customer id's hash key ----
// Part of the Temporal group every process reads (config/common.ts).
// PAYLOAD_KEYS: `<keyId>:<base64 of 32 bytes>`, comma-separated. The first
// encrypts; every one decrypts, so a rotation puts a new key first and keeps
// the old ones until no history needs them (temporal/payload-codec.ts).
// CUSTOMER_ID_HASH_KEY: the HMAC key of the CustomerId search attribute
// (temporal/customer-search-value.ts); never rotated, or old payments are no
// longer found by it. Production requires both; development keeps random ones
// in DATA_DIR, made on first use and shared by every process of the stack
// (temporal/payload-keys.ts).
export const dataProtectionVars = {
  CHECKOUT_ENV: z.enum(['development', 'production']).default('development'),
  DATA_DIR: z.string().min(1).default('.data'),
  PAYLOAD_KEYS: z.string().optional(),
  CUSTOMER_ID_HASH_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
};

export interface PayloadKey {
  id: string;
  /** 32 bytes: AES-256 */
  key: Buffer;
}

export interface DataProtectionConfig {
  environment: 'development' | 'production';
  dataDir: string;
  /** undefined: the development keys in dataDir (refused in production) */
  payloadKeys?: PayloadKey[];
  customerIdHashKey?: string;
}

export function dataProtectionOf(e: z.infer<z.ZodObject<typeof dataProtectionVars>>): DataProtectionConfig {
  return {
    environment: e.CHECKOUT_ENV,
    dataDir: e.DATA_DIR,
    payloadKeys: e.PAYLOAD_KEYS === undefined ? undefined : parsePayloadKeys(e.PAYLOAD_KEYS),
    customerIdHashKey: e.CUSTOMER_ID_HASH_KEY,
  };
}

/** `k2:<base64>,k1:<base64>`; anything else stops the process naming PAYLOAD_KEYS (never the key). */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const bad = (why: string) => new ConfigError(`invalid configuration: PAYLOAD_KEYS: ${why} (expected <keyId>:<base64 of 32 bytes>, comma-separated, the encrypting key first)`);
  const keys = text.split(',').map((item, i) => {
    const match = /^([A-Za-z0-9._-]{1,64}):([A-Za-z0-9+/_-]+={0,2})$/.exec(item.trim());
    if (!match) throw bad(`item ${i + 1} is not <keyId>:<base64>`);
    const key = Buffer.from(match[2] as string, 'base64');
    if (key.length !== 32) throw bad(`key "${match[1]}" is ${key.length} bytes, not 32`);
    return { id: match[1] as string, key };
  });
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) throw bad(`key id "${twice}" appears twice`);
  return keys;
}
