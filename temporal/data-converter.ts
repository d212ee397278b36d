// The data converter of every client and Worker (and replay): payloads
// encrypted by the codec, failure messages encoded so the codec encrypts them
// too. The failure converter goes by path: the Worker bundles it into the
// workflow sandbox, and the bundlers of prebuilt bundles take the same path.
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import type { DataProtectionConfig } from '../config';
import { AesGcmPayloadCodec } from './payload-codec';
import { payloadKeysOf } from './payload-keys';

export const FAILURE_CONVERTER_PATH = path.resolve(__dirname, 'failure-converter.ts');

export function payloadCodecOf(config: DataProtectionConfig): AesGcmPayloadCodec {
  return new AesGcmPayloadCodec(payloadKeysOf(config));
}

export function dataConverterOf(config: DataProtectionConfig): DataConverter {
  return { payloadCodecs: [payloadCodecOf(config)], failureConverterPath: FAILURE_CONVERTER_PATH };
}
