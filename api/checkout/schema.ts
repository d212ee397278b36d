// The checkout request as docs/design.md ("HTTP contract") defines it: the schema that validates
// requests, and the fingerprint that tells one body from another.
import crypto from 'node:crypto';
import { z } from 'zod';
import type { CheckoutRequest } from '../../domain/checkout';
import { HttpError } from '../../errors';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../request-text';

export const MAX_BODY_BYTES = 16 * 1024;

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7E]+$/, 'must be 1-255 visible ASCII characters');

/** An id we store and send on: 1-64 characters, none of them a control character (NUL: Postgres refuses it). */
const idSchema = z.string().min(1).max(64).refine(isStorableText, UNSTORABLE_TEXT_MESSAGE);

export const checkoutRequestSchema = z.strictObject({
  customer_id: idSchema,
  amount_cents: z.number().int('must be an integer number of cents').min(1).max(99_999_999),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code of three upper-case letters'),
  payment_method_id: idSchema,
});

export function parseIdempotencyKey(header: string | undefined): string {
  if (header === undefined) {
    throw new HttpError(400, 'missing_idempotency_key', 'the Idempotency-Key header is required', 'Idempotency-Key');
  }
  const parsed = idempotencyKeySchema.safeParse(header);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid_idempotency_key', `Idempotency-Key ${parsed.error.issues[0]?.message}`, 'Idempotency-Key');
  }
  return parsed.data;
}

export function parseCheckoutRequest(body: unknown): CheckoutRequest {
  const parsed = checkoutRequestSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (!issue) throw new HttpError(400, 'invalid_request', 'invalid request body');
  const field =
    issue.code === 'unrecognized_keys' ? issue.keys[0] : issue.path.length > 0 ? issue.path.join('.') : undefined;
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown field ${issue.keys.join(', ')}`
      : field
        ? `${field}: ${issue.message}`
        : `request body: ${issue.message}`;
  throw new HttpError(400, 'invalid_request', message, field);
}

/** sha256 of the validated body with its fields in a fixed order: whitespace and key order don't matter. */
export function fingerprintOf(request: CheckoutRequest): string {
  const canonical = JSON.stringify([request.customer_id, request.amount_cents, request.currency, request.payment_method_id]);
  return crypto.createHash('sha256').update(canonical).digest('hex');
}
