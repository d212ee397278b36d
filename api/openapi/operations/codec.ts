// POST /codec/decode and /codec/encode, and their CORS preflights (api/routes/codec.ts):
// the Temporal Web UI's and CLI's remote codec, for operators.
import { codecPayloadsSchema } from '../../routes/codec';
import type { Answer, Operation } from '../operation';

const ENCRYPTED = {
  payloads: [{ metadata: { encoding: 'YmluYXJ5L2VuY3J5cHRlZA==', 'encryption-key-id': 'azE=' }, data: 'q83vEjRWeJASNFZ4kBI0VniQEjRWeJASNFZ4kBI0Vng=' }],
};
const CLEAR = { payloads: [{ metadata: { encoding: 'anNvbi9wbGFpbg==' }, data: 'eyJjdXN0b21lcl9pZCI6ImN1c3RfNDIifQ==' }] };

const cors = { 'Access-Control-Allow-Origin': 'optional' } as const;

function convert(direction: 'decode' | 'encode'): Operation {
  const [from, to] = direction === 'decode' ? [ENCRYPTED, CLEAR] : [CLEAR, ENCRYPTED];
  return {
    method: 'post',
    path: `/codec/${direction}`,
    operationId: `codec${direction === 'decode' ? 'Decode' : 'Encode'}`,
    tag: 'Operators',
    summary: direction === 'decode' ? 'Decrypt payloads for the Temporal Web UI or CLI (remote codec)' : 'Encrypt payloads as the workers do (remote codec)',
    description:
      'An admin key only: payloads hold customers\' data. The codec server protocol of Temporal\'s Web UI and CLI: payloads in proto3 JSON, metadata values and data in base64. ' +
      'A payload the codec did not encrypt comes back as it went. X-Namespace is accepted and not read. Point the UI at `<api>/codec`; from a browser, CORS answers the origins in CODEC_CORS_ORIGINS only.',
    access: 'admin',
    body: { schema: codecPayloadsSchema, description: 'The payloads, as the Web UI sends them', example: from },
    answers: {
      200: { description: `The payloads, ${direction}d, in the same order`, body: codecPayloadsSchema, example: to, headers: cors },
      400: {
        description: 'Not the protocol\'s body, or a payload that cannot be decrypted (its key is not in PAYLOAD_KEYS, or it was altered)',
        errors: ['invalid_request'],
        headers: cors,
        example: { error: { code: 'invalid_request', message: 'a payload could not be decoded: payload encrypted with key "k0", which is not in PAYLOAD_KEYS', field: 'payloads' } },
      },
      401: { description: 'No valid API key', headers: { ...cors, 'WWW-Authenticate': 'required' } },
      403: { description: 'The key may not do this', headers: cors },
    },
  };
}

function preflight(direction: 'decode' | 'encode'): Operation {
  const allowed: Answer = {
    description: 'The origin is one of CODEC_CORS_ORIGINS: the browser may send the POST',
    mediaType: 'none',
    headers: { 'Access-Control-Allow-Origin': 'required', 'Access-Control-Allow-Methods': 'required', 'Access-Control-Allow-Headers': 'required', 'Access-Control-Max-Age': 'required' },
  };
  return {
    method: 'options',
    path: `/codec/${direction}`,
    operationId: `codec${direction === 'decode' ? 'Decode' : 'Encode'}Preflight`,
    tag: 'Operators',
    summary: `The browser's CORS preflight of POST /codec/${direction}: no key, the configured UI origins only`,
    access: 'open',
    answers: {
      204: allowed,
      403: {
        description: 'No Origin, or one not in CODEC_CORS_ORIGINS: no CORS headers, so the browser sends nothing',
        errors: ['origin_not_allowed'],
        example: { error: { code: 'origin_not_allowed', message: 'this origin may not call the codec (CODEC_CORS_ORIGINS)' } },
      },
    },
  };
}

export const codecOperations: Operation[] = [convert('decode'), preflight('decode'), convert('encode'), preflight('encode')];
