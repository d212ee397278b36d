// The payload codec (temporal/payload-codec.ts) and its keys from config:
// what it writes holds nothing in clear, a rotated key still reads old
// payloads, a payload it did not encrypt passes through, and a bad
// PAYLOAD_KEYS stops the process naming the variable.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadWorkerConfig, parsePayloadKeys } from '../../config';
import { ConfigError } from '../../errors';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../temporal/payload-codec';
import { DEV_PAYLOAD_KEY_FILE, payloadKeysOf } from '../../temporal/payload-keys';

const keyA = { id: 'a', key: crypto.randomBytes(32) };
const keyB = { id: 'b', key: crypto.randomBytes(32) };
const input = { customer_id: 'cust_secret_42', payment_method_id: 'pm_card_visa', amount_cents: 4242 };
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString();

async function roundTrip(encoder: AesGcmPayloadCodec, decoder: AesGcmPayloadCodec, payload: Payload): Promise<Payload> {
  return (await decoder.decode(await encoder.encode([payload])))[0] as Payload;
}

describe('the AES-256-GCM payload codec', () => {
  it('encrypts the whole payload under the first key, naming it, with a fresh nonce each time', async () => {
    const codec = new AesGcmPayloadCodec([keyA]);
    const clear = defaultPayloadConverter.toPayload(input);
    const [one, two] = await codec.encode([clear, clear]);
    expect(text(one?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(one?.metadata?.[KEY_ID_METADATA_KEY])).toBe('a');
    // nonce (12) + ciphertext + tag (16); nothing of the input in clear, and never the same bytes twice
    for (const secret of ['cust_secret_42', 'pm_card_visa', '4242', 'json/plain']) expect(Buffer.from(one?.data ?? []).includes(secret)).toBe(false);
    expect(Buffer.from(one?.data ?? []).equals(Buffer.from(two?.data ?? []))).toBe(false);
    expect(defaultPayloadConverter.fromPayload(await roundTrip(codec, codec, clear))).toEqual(input);
  });

  it('after a rotation (B first, A kept) reads payloads of both keys and writes with B', async () => {
    const before = new AesGcmPayloadCodec([keyA]);
    const after = new AesGcmPayloadCodec([keyB, keyA]);
    const old = await before.encode([defaultPayloadConverter.toPayload(input)]);
    const fresh = await after.encode([defaultPayloadConverter.toPayload({ ...input, amount_cents: 1 })]);
    expect(text(fresh[0]?.metadata?.[KEY_ID_METADATA_KEY])).toBe('b');
    const [a, b] = await after.decode([...old, ...fresh]);
    expect(defaultPayloadConverter.fromPayload(a as Payload)).toEqual(input);
    expect(defaultPayloadConverter.fromPayload(b as Payload)).toEqual({ ...input, amount_cents: 1 });
  });

  it('passes a payload it did not encrypt through untouched (histories recorded before, a mixed history)', async () => {
    const codec = new AesGcmPayloadCodec([keyA]);
    const clear = defaultPayloadConverter.toPayload(input);
    const encrypted = await codec.encode([clear]);
    const [plain, decrypted] = await codec.decode([clear, ...encrypted]);
    expect(plain).toBe(clear);
    expect(defaultPayloadConverter.fromPayload(decrypted as Payload)).toEqual(input);
  });

  it('refuses a payload of a key it does not hold, naming the key, and one that was tampered with', async () => {
    const encrypted = await new AesGcmPayloadCodec([keyA]).encode([defaultPayloadConverter.toPayload(input)]);
    await expect(new AesGcmPayloadCodec([keyB]).decode(encrypted)).rejects.toThrow(/key "a", which is not in PAYLOAD_KEYS/);
    const data = Buffer.from(encrypted[0]?.data ?? []);
    data[20] = (data[20] as number) ^ 1;
    await expect(new AesGcmPayloadCodec([keyA]).decode([{ ...encrypted[0], data }])).rejects.toThrow(/authenticate/);
  });
});

describe('PAYLOAD_KEYS', () => {
  const b64 = (bytes: Buffer) => bytes.toString('base64');

  it('reads <keyId>:<base64 of 32 bytes>, comma-separated, the encrypting key first', () => {
    expect(parsePayloadKeys(`b:${b64(keyB.key)}, a:${b64(keyA.key)}`)).toEqual([keyB, keyA]);
  });

  it('stops the process naming the variable, never the key', () => {
    const secret = b64(crypto.randomBytes(16));
    for (const bad of [`a:${secret}`, 'a', `a:${b64(keyA.key)},a:${b64(keyB.key)}`, `:${b64(keyA.key)}`]) {
      const load = () => loadWorkerConfig({ PAYLOAD_KEYS: bad });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/PAYLOAD_KEYS/);
      expect(() => load()).not.toThrow(secret);
    }
  });

  it('production requires it; development makes one key in DATA_DIR (mode 600) that every process of the stack reads', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payload-keys-'));
    try {
      expect(() => payloadKeysOf(loadWorkerConfig({ CHECKOUT_ENV: 'production', DATA_DIR: dataDir }).temporal.dataProtection)).toThrow(/PAYLOAD_KEYS is required/);
      const first = payloadKeysOf(loadWorkerConfig({ DATA_DIR: dataDir }).temporal.dataProtection);
      const second = payloadKeysOf(loadWorkerConfig({ DATA_DIR: dataDir }).temporal.dataProtection);
      expect(first).toEqual(second);
      expect(first[0]?.key).toHaveLength(32);
      expect(fs.statSync(path.join(dataDir, DEV_PAYLOAD_KEY_FILE)).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
