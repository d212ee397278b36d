// The response headers of the contract, each with its schema and meaning.
import { z } from 'zod';

export const RESPONSE_HEADERS = {
  'Retry-After': { schema: z.string().regex(/^\d+$/), description: 'seconds to wait before sending the request again' },
  Location: { schema: z.string().regex(/^\/payments\/[^/]+$/), description: "the payment to poll: /payments/{payment_id}" },
  'Idempotent-Replayed': {
    schema: z.literal('true'),
    description: 'this is the answer the first request with this Idempotency-Key got (a replay, a joined duplicate, a retry after 202)',
  },
  'WWW-Authenticate': {
    schema: z.string().regex(/^Bearer /),
    description: 'Bearer realm="checkout", with error="invalid_token" when a key was sent and refused',
  },
  'X-Request-Id': { schema: z.string(), description: "this request's id, as in the api's log lines: the client's own X-Request-Id, or one the api made" },
  'Access-Control-Allow-Origin': { schema: z.string().url(), description: 'the calling page\'s origin, when it is one of CODEC_CORS_ORIGINS (the Temporal Web UI); never *' },
  'Access-Control-Allow-Methods': { schema: z.literal('POST'), description: 'what the codec takes from a browser' },
  'Access-Control-Allow-Headers': { schema: z.string(), description: 'Authorization, Content-Type, X-Namespace: what the Web UI sends' },
  'Access-Control-Max-Age': { schema: z.string().regex(/^\d+$/), description: 'seconds a browser may keep this preflight answer' },
} as const;

export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS;

/** Headers a test may see without the document naming them for that answer is drift: these are the contract's own. */
export const CONTRACT_HEADERS: ResponseHeaderName[] = ['Retry-After', 'Location', 'Idempotent-Replayed', 'WWW-Authenticate'];
