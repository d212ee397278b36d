// The JSON bodies the api answers with, as zod schemas. Only the document
// uses them; the contract test (test/support/contract-check.ts) checks every
// answer the integration tests receive against them, so a field added to a
// route and not here, or the other way round, fails the test run.
import { z } from 'zod';
import { WEBHOOK_DELIVERY_STATUSES } from '../../db/webhooks-deliveries';
import { WEBHOOK_EVENT_TYPES } from '../../db/webhooks-events';
import { ERROR_CODES, type ErrorCode } from './error-codes';

/** A time as Date.prototype.toISOString() writes it (UTC, "Z"). */
const time = z.iso.datetime();
const cents = z.number().int().min(0);
const currency = z.string().regex(/^[A-Z]{3}$/);

/** `{error: {code, message, field?}}` with the codes this answer can carry. */
export function errorBody(codes: readonly [ErrorCode, ...ErrorCode[]]) {
  return z.object({ error: z.object({ code: z.enum(codes), message: z.string(), field: z.string().optional() }) });
}

export const errorSchema = errorBody(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

// ---- POST /checkout: each outcome's body (domain/checkout-answer.ts renders them)

export const completedPaymentSchema = z.object({
  payment_id: z.string(),
  status: z.literal('completed'),
  amount_cents: cents,
  currency,
  provider_charge_id: z.string(),
  created_at: time,
});

/** Declined (402) or given up on the provider (502): nothing was charged. */
export function failedPaymentSchema(codes: readonly [string, ...string[]]) {
  return z.object({
    payment_id: z.string(),
    status: z.literal('failed'),
    amount_cents: cents,
    currency,
    created_at: time,
    error: z.object({ code: z.enum(codes), message: z.string() }),
  });
}

export const declinedPaymentSchema = failedPaymentSchema(['card_declined', 'insufficient_funds', 'fraud_rejected']);
export const providerGaveUpPaymentSchema = failedPaymentSchema(['provider_unavailable']);

export const refundedPaymentSchema = z.object({
  payment_id: z.string(),
  status: z.literal('refunded'),
  amount_cents: cents,
  currency,
  provider_charge_id: z.string(),
  created_at: time,
  error: z.object({ code: z.literal('payment_reversed'), message: z.string() }),
});

export const pendingPaymentSchema = z.object({ payment_id: z.string(), status: z.literal('pending') });

// ---- GET /payments/{payment_id}

export const paymentSchema = z.object({
  payment_id: z.string(),
  status: z.enum(['pending', 'completed', 'failed', 'refunded']),
  amount_cents: cents,
  currency,
  customer_id: z.string(),
  provider_charge_id: z.string().nullable(),
  failure_code: z.string().nullable(),
  created_at: time,
  updated_at: time,
});

// ---- webhooks

export const webhookEndpointSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
  // deleted endpoints are never shown
  status: z.enum(['active', 'disabled']),
  disabled_reason: z.string().nullable(),
  previous_secret_expires_at: time.nullable(),
  created_at: time,
});

/** Shown on creation and rotation only. */
export const webhookEndpointWithSecretSchema = webhookEndpointSchema.extend({ secret: z.string().regex(/^whsec_/) });

export const webhookEndpointListSchema = z.object({ data: z.array(webhookEndpointSchema) });

/** A delivery as a redelivery answers it: without its event's type and payment. */
export const webhookDeliverySchema = z.object({
  id: z.string(),
  event_id: z.string(),
  endpoint_id: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int().min(0),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  next_attempt_at: time.nullable(),
  delivered_at: time.nullable(),
  redeliveries: z.number().int().min(0),
  created_at: time,
});

const listedDeliverySchema = webhookDeliverySchema.extend({ event_type: z.enum(WEBHOOK_EVENT_TYPES), payment_id: z.string() });

export const webhookDeliveryListSchema = z.object({ data: z.array(listedDeliverySchema) });

export const adminWebhookDeliveryListSchema = z.object({ data: z.array(listedDeliverySchema.extend({ merchant_id: z.string() })) });

// ---- GET /reconciliation/runs

const mismatchSchema = z.object({
  kind: z.enum(['charge_without_posting', 'posting_without_charge', 'amount_differs']),
  provider_charge_id: z.string(),
  workflow_id: z.string().nullable(),
  merchant_id: z.string().nullable(),
  idempotency_key: z.string().nullable(),
  provider_amount_cents: z.number().int().nullable(),
  ledger_amount_cents: z.number().int().nullable(),
  currency: z.string(),
  found_at: time,
});

export const reconciliationRunListSchema = z.object({
  data: z.array(
    z.object({
      run_id: z.string(),
      schedule_id: z.string(),
      scheduled_at: time.nullable(),
      window: z.object({ since: time, until: time }),
      started_at: time,
      finished_at: time.nullable(),
      charges_checked: z.number().int().nullable(),
      postings_checked: z.number().int().nullable(),
      mismatches_found: z.number().int().nullable(),
      mismatches: z.array(mismatchSchema),
    }),
  ),
});

// ---- open routes

export const healthSchema = z.object({ status: z.literal('ok') });

const reachability = z.enum(['ok', 'unreachable']);
export const readinessSchema = z.object({ ready: z.boolean(), temporal: reachability, postgres: reachability });

export const openApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

export const docsPageSchema = z.string();
