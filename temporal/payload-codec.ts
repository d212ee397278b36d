// Encrypts every payload Temporal stores (workflow and activity inputs and
// results, failure messages): AES-256-GCM with a random 12-byte nonce, the
// key's id in the payload's metadata so keys can rotate. A payload not
// encrypted by us (a history recorded before, a search attribute) passes
// through decode untouched, so old and mixed histories still read.
import crypto from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { PayloadKey } from '../config';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PayloadProto = temporal.api.common.v1.Payload;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  /** keys[0] encrypts; every key decrypts. */
  constructor(private readonly keys: PayloadKey[]) {
    if (keys.length === 0) throw new Error('AesGcmPayloadCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0] as PayloadKey;
    return payloads.map((payload) => {
      const nonce = crypto.randomBytes(NONCE_BYTES);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
      // the whole payload, metadata included: its encoding is nobody's business either
      const clear = Buffer.from(PayloadProto.encode(payload).finish());
      const sealed = Buffer.concat([nonce, cipher.update(clear), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: Buffer.from(id) },
        data: sealed,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const id = text(payload.metadata?.[KEY_ID_METADATA_KEY]);
      const key = id === undefined ? undefined : this.byId.get(id);
      // names the key, never its bytes: the fix is to put it back in PAYLOAD_KEYS
      if (!key) throw new Error(`payload encrypted with key "${id ?? '(none)'}", which is not in PAYLOAD_KEYS`);
      const sealed = Buffer.from(payload.data ?? new Uint8Array());
      const nonce = sealed.subarray(0, NONCE_BYTES);
      const tag = sealed.subarray(sealed.length - TAG_BYTES);
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce);
      decipher.setAuthTag(tag);
      const clear = Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
      return PayloadProto.decode(clear);
    });
  }
}

function text(bytes: Uint8Array | null | undefined): string | undefined {
  return bytes ? Buffer.from(bytes).toString() : undefined;
}
