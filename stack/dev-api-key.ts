// The development merchant and its secret key, made by a local stack (npm
// start, the drills, the bench) so that the stack is usable with no setup:
// the key is written to <DATA_DIR>/dev-api-key (mode 600), where the client's
// CLI, the drills and the bench read it. Shown once, like any key: later starts
// say where it is. Never made in production (CHECKOUT_ENV=production): there,
// merchants and keys come from `npm run merchant`.
import fs from 'node:fs';
import path from 'node:path';
import { keyMatches, prefixOf, type ApiKeyEnv } from '../accounts/api-key';
import { issueApiKey } from '../accounts/issue-key';
import { findApiKeyByPrefix } from '../db/api-keys';
import { findMerchant, insertMerchant } from '../db/merchants';
import type { Queryable } from '../db/payments';

export const DEV_API_KEY_FILE = 'dev-api-key';
/** One fixed id, so a later start finds the merchant an earlier one made. */
export const DEV_MERCHANT_ID = 'mer_dev';
const DEV_MERCHANT_NAME = 'Development merchant (npm start)';
const DEV_KEY_LABEL = 'development key (npm start)';

export interface DevApiKey {
  key: string;
  merchantId: string;
  /** where the key is kept: <DATA_DIR>/dev-api-key */
  file: string;
  /** why this start issued a new key; undefined when the file's key still works */
  issued?: string;
}

export function devApiKeyPath(dataDir: string): string {
  return path.join(dataDir, DEV_API_KEY_FILE);
}

/** CHECKOUT_API_KEY if set (it wins), else the key in <dataDir>/dev-api-key, else undefined. */
export function readDevApiKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHECKOUT_API_KEY) return env.CHECKOUT_API_KEY.trim();
  try {
    return fs.readFileSync(devApiKeyPath(dataDir), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The development merchant (made if missing) and a working secret key of it:
 * the one in the file when it still authenticates, else a new one, written to
 * the file. A new database, a deleted file, or a key that was revoked, expired
 * or made under another pepper all end in a new key, and `issued` says which.
 */
export async function ensureDevApiKey(db: Queryable, options: { dataDir: string; pepper: string; keyEnv: ApiKeyEnv }): Promise<DevApiKey> {
  const file = devApiKeyPath(options.dataDir);
  const merchantId = DEV_MERCHANT_ID;
  const madeMerchant = await ensureDevMerchant(db);
  const kept = readKeyFile(file);
  const problem = madeMerchant
    ? 'a new database: made the development merchant'
    : kept === undefined
      ? `${file} was missing`
      : await whyUnusable(db, kept, options.pepper);
  if (problem === undefined && kept !== undefined) return { key: kept, merchantId, file };

  const { key } = await issueApiKey(db, { merchantId, kind: 'secret', env: options.keyEnv, pepper: options.pepper, label: DEV_KEY_LABEL });
  writeKeyFile(file, key);
  return { key, merchantId, file, issued: problem };
}

/** True when this call made the merchant. */
async function ensureDevMerchant(db: Queryable): Promise<boolean> {
  if (await findMerchant(db, DEV_MERCHANT_ID)) return false;
  try {
    await insertMerchant(db, DEV_MERCHANT_NAME, DEV_MERCHANT_ID);
    return true;
  } catch (err) {
    // another process (a second stack on the same database) made it first
    if ((err as { code?: string }).code === '23505') return false;
    throw err;
  }
}

/** Why the kept key would be refused by the api; undefined when it would be accepted. */
async function whyUnusable(db: Queryable, key: string, pepper: string): Promise<string | undefined> {
  const prefix = prefixOf(key);
  const row = prefix ? await findApiKeyByPrefix(db, prefix) : undefined;
  if (!row || !keyMatches(key, row.hash, pepper)) return 'the key in the file is unknown to this database (or its pepper changed)';
  if (row.revoked_at) return 'the key in the file was revoked';
  if (row.expires_at && row.expires_at.getTime() <= Date.now()) return 'the key in the file has expired';
  return undefined;
}

function readKeyFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Written whole under another name, then renamed: never a half-written key, never readable by others. */
function writeKeyFile(file: string, key: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const draft = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(draft, `${key}\n`, { mode: 0o600 });
  fs.chmodSync(draft, 0o600); // the umask cannot widen it, but an old draft's mode could
  fs.renameSync(draft, file);
}
