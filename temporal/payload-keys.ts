// The keys of what Temporal stores: PAYLOAD_KEYS and CUSTOMER_ID_HASH_KEY
// from config, or in development random ones kept in DATA_DIR (every process
// of a local stack shares its DATA_DIR, so they all read the same keys).
// Production refuses to run without them, naming the variable.
import crypto from 'node:crypto';
import type { DataProtectionConfig, PayloadKey } from '../config';
import { ConfigError } from '../errors';
import { devSecret } from './dev-secret';

export const DEV_PAYLOAD_KEY_FILE = 'payload-key';
export const DEV_CUSTOMER_ID_HASH_KEY_FILE = 'customer-id-hash-key';

/** The encrypting key first, then the ones kept for older payloads. */
export function payloadKeysOf(config: DataProtectionConfig): PayloadKey[] {
  if (config.payloadKeys) return config.payloadKeys;
  refuseInProduction(config, 'PAYLOAD_KEYS', '<keyId>:<base64 of 32 random bytes>, e.g. k1:$(openssl rand -base64 32)');
  const key = Buffer.from(devSecret(config.dataDir, DEV_PAYLOAD_KEY_FILE), 'base64');
  // an id that names this key, so a history written under another DATA_DIR's key says so
  return [{ id: `dev-${crypto.createHash('sha256').update(key).digest('hex').slice(0, 8)}`, key }];
}

export function customerIdHashKeyOf(config: DataProtectionConfig): string {
  if (config.customerIdHashKey !== undefined) return config.customerIdHashKey;
  refuseInProduction(config, 'CUSTOMER_ID_HASH_KEY', '32+ random characters, kept for good');
  return devSecret(config.dataDir, DEV_CUSTOMER_ID_HASH_KEY_FILE);
}

function refuseInProduction(config: DataProtectionConfig, name: string, what: string): void {
  if (config.environment === 'production') {
    throw new ConfigError(`invalid configuration: ${name} is required when CHECKOUT_ENV=production (${what}, from your secret store)`);
  }
}
