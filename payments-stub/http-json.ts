// Reading requests and writing answers, shared by every route, so that all of
// them speak the same Stripe-like JSON and error shape.
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import type { StoredAnswer } from './idempotency';

/** An answer to send; `replayed` marks one served again from an idempotency key. */
export interface Reply extends StoredAnswer {
  replayed?: boolean;
  headers?: Record<string, string>;
}

// Provider requests are small; a bigger body is refused with 413 before any work.
export const readJsonBody = express.json({ limit: '16kb' });

// Listings take ?since= (unix seconds), so a reconciler can ask for its window only.
const sinceQuery = z.object({
  since: z.coerce.number().int().min(0).optional(),
});

export function send(res: Response, reply: Reply): void {
  if (reply.replayed) res.set('Idempotent-Replayed', 'true');
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status).json(reply.body);
}

export function errorBody(code: string, message: string, field?: string): object {
  return { error: field === undefined ? { code, message } : { code, message, field } };
}

export function invalidRequest(message: string, field?: string): Reply {
  return { status: 400, body: errorBody('invalid_request', message, field) };
}

// One issue is enough for the caller to fix; the first one is named with its field.
export function invalidFromZod(error: z.ZodError): Reply {
  const issue = error.issues[0];
  if (!issue) return invalidRequest('invalid request');
  if (issue.code === 'unrecognized_keys') return invalidRequest(`unknown field: ${issue.keys.join(', ')}`, issue.keys[0]);
  if (issue.path.length === 0) return invalidRequest('the body must be a JSON object');
  const field = issue.path.join('.');
  return invalidRequest(`${field}: ${issue.message}`, field);
}

/** Answers `{ data: [...] }` with what `list` returns for the request's ?since=. */
export function sendListing(req: Request, res: Response, list: (since: number | undefined) => object[]): void {
  const parsed = sinceQuery.safeParse(req.query);
  if (!parsed.success) {
    send(res, invalidFromZod(parsed.error));
    return;
  }
  res.json({ data: list(parsed.data.since) });
}
