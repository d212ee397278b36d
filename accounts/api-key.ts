// What an API key is: sk_<env>_<random>, 32 random bytes in base62. Only an
// HMAC-SHA-256 of the whole key under the server's pepper is ever stored; a
// stolen table (or backup) without the pepper yields no usable key. The first
// characters of the random part are the key's public prefix, for lookup and
// display.
import crypto from 'node:crypto';

export const API_KEY_KINDS = ['secret', 'restricted', 'admin'] as const;
/** secret: the merchant's full access; restricted: its reads only; admin: operator routes, no merchant. */
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_BYTES = 32;
/** 32 bytes are 43 base62 characters (62^43 > 2^256). */
const RANDOM_CHARS = 43;
/** Public: shown in listings and logs, unique, 71 of the key's bits. */
const PREFIX_CHARS = 12;
const KEY_PATTERN = /^sk_(test|live)_([0-9A-Za-z]{43})$/;

export type ApiKeyEnv = 'test' | 'live';

export interface NewApiKey {
  /** The whole key: shown once, never stored. */
  key: string;
  prefix: string;
  hash: Buffer;
}

export function generateApiKey(env: ApiKeyEnv, pepper: string): NewApiKey {
  const key = `sk_${env}_${base62(crypto.randomBytes(RANDOM_BYTES))}`;
  const prefix = prefixOf(key);
  if (!prefix) throw new Error('generated an API key that does not parse');
  return { key, prefix, hash: hashApiKey(key, pepper) };
}

/** The public prefix (sk_test_ and 12 characters), or undefined when the text is not shaped like a key. */
export function prefixOf(key: string): string | undefined {
  const match = KEY_PATTERN.exec(key);
  if (!match) return undefined;
  return `sk_${match[1]}_${(match[2] as string).slice(0, PREFIX_CHARS)}`;
}

export function hashApiKey(key: string, pepper: string): Buffer {
  return crypto.createHmac('sha256', pepper).update(key, 'utf8').digest();
}

/** Constant time in the key's content: the hash is compared, never the key. */
export function keyMatches(key: string, storedHash: Buffer, pepper: string): boolean {
  const hash = hashApiKey(key, pepper);
  return hash.length === storedHash.length && crypto.timingSafeEqual(hash, storedHash);
}

/** Unbiased base62 of the bytes' big-endian value, left-padded to RANDOM_CHARS. */
function base62(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let text = '';
  while (value > 0n) {
    text = (BASE62[Number(value % 62n)] as string) + text;
    value /= 62n;
  }
  return text.padStart(RANDOM_CHARS, '0');
}
