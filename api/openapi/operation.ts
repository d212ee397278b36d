// How one operation of the api is described: its route, who may call it, what
// it reads and what it answers. The files in operations/ list them; document.ts
// turns them into OpenAPI, adding what every route answers by where it sits
// in api/app.ts (common-answers.ts).
import type { z } from 'zod';
import type { ErrorCode } from './error-codes';
import type { ResponseHeaderName } from './headers';

export interface Answer {
  description: string;
  /** The JSON body; with several, it is one of them. */
  body?: z.ZodType | z.ZodType[];
  /** Codes of an `{error: {code, message, field?}}` body this operation answers with at this status. */
  errors?: ErrorCode[];
  headers?: Partial<Record<ResponseHeaderName, 'required' | 'optional'>>;
  example?: unknown;
  /** application/json unless said; none for an answer without a body. */
  mediaType?: string;
}

export interface Operation {
  method: 'get' | 'post' | 'delete' | 'options';
  /** An OpenAPI path template: /payments/{payment_id} */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** open: no key (mounted before authentication); merchant: a merchant's key; admin: an admin key. */
  access: 'open' | 'merchant' | 'admin';
  pathParams?: Record<string, { description: string; example: string }>;
  /** The schema the route parses req.query with, and a line per parameter. */
  query?: { schema: z.ZodObject; descriptions: Record<string, string> };
  idempotencyKey?: { required: boolean; description: string };
  /** A JSON body, read by express.json (so the body's own refusals apply: 400, 413, 415). */
  body?: { schema: z.ZodType; description: string; example: unknown };
  /** By status. */
  answers: Record<number, Answer>;
}
