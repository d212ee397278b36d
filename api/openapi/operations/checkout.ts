// POST /checkout (api/checkout/route.ts): the request as api/checkout/schema.ts
// validates it, each outcome as domain/checkout-answer.ts renders it.
import { checkoutRequestSchema } from '../../checkout/schema';
import {
  completedPaymentSchema,
  declinedPaymentSchema,
  pendingPaymentSchema,
  providerGaveUpPaymentSchema,
  refundedPaymentSchema,
} from '../bodies';
import type { Operation } from '../operation';

const completed = {
  payment_id: 'pay_5b8e2c0f4d7a4e21a1f3c9d6b2e8a704',
  status: 'completed',
  amount_cents: 1999,
  currency: 'USD',
  provider_charge_id: 'ch_7f3a9c2e1b',
  created_at: '2025-05-01T12:00:00.000Z',
};

export const checkoutOperations: Operation[] = [
  {
    method: 'post',
    path: '/checkout',
    operationId: 'createCheckout',
    tag: 'Checkout',
    summary: 'Charge a customer, exactly once per Idempotency-Key',
    description:
      'Starts (or joins) the checkout workflow of this Idempotency-Key and answers within the API budget (API_BUDGET_MS, 3 s). ' +
      'A key that has finished is answered from Postgres with its first answer; a running one is joined. ' +
      'Checks run in this order: load shedding, then the body (415, 413, 400), the key, the rates (429), the key reuse (422), then the checkout.',
    access: 'merchant',
    idempotencyKey: { required: true, description: 'Unique per merchant, 1-255 visible ASCII characters; reuse it for every retry of one checkout.' },
    body: {
      schema: checkoutRequestSchema,
      description: 'At most 16 KiB of JSON. Unknown fields, wrong types and fractional amounts are refused (400, naming the field).',
      example: { customer_id: 'cust_42', amount_cents: 1999, currency: 'USD', payment_method_id: 'pm_card_visa' },
    },
    answers: {
      200: {
        description: 'A replay: the checkout of this key finished before, and this is its first answer (a 201 becomes 200)',
        body: completedPaymentSchema,
        headers: { 'Idempotent-Replayed': 'required' },
        example: completed,
      },
      201: { description: 'Charged and recorded within the budget', body: completedPaymentSchema, example: completed },
      202: {
        description: 'No outcome within the budget; the workflow goes on. Poll Location, or send the same request again after Retry-After',
        body: pendingPaymentSchema,
        headers: { Location: 'required', 'Retry-After': 'required' },
        example: { payment_id: completed.payment_id, status: 'pending' },
      },
      400: {
        description: 'The key or the body is invalid',
        errors: ['missing_idempotency_key', 'invalid_idempotency_key', 'invalid_request'],
        example: { error: { code: 'invalid_request', message: 'amount_cents: must be an integer number of cents', field: 'amount_cents' } },
      },
      402: {
        description: 'Declined by the provider or by our fraud rule; nothing was charged. Replays answer the same',
        body: declinedPaymentSchema,
        headers: { 'Idempotent-Replayed': 'optional' },
        example: { ...failedFields(), error: { code: 'card_declined', message: 'the payment was declined' } },
      },
      422: {
        description: 'The key was used before with another body; nothing ran',
        errors: ['idempotency_key_reused'],
        example: {
          error: {
            code: 'idempotency_key_reused',
            message: 'this Idempotency-Key was used with a different request body; use a new key for a new checkout',
            field: 'Idempotency-Key',
          },
        },
      },
      429: {
        description: 'A new key while the (merchant, customer) or the API key is at its rate of new checkouts; nothing was written',
        errors: ['rate_limited'],
        headers: { 'Retry-After': 'required' },
        example: { error: { code: 'rate_limited', message: 'customer cust_42 has reached 10 new checkouts per minute; retry after 12 s', field: 'customer_id' } },
      },
      500: {
        description: 'Charged, then recording failed for good, so the charge was refunded in full; or the workflow itself failed (safe to retry with the same key)',
        body: refundedPaymentSchema,
        errors: ['checkout_failed'],
        headers: { 'Idempotent-Replayed': 'optional' },
      },
      502: {
        description: 'The provider kept failing for CHARGE_TOTAL_TIMEOUT_MS; no charge was confirmed',
        body: providerGaveUpPaymentSchema,
        headers: { 'Idempotent-Replayed': 'optional' },
      },
      503: {
        description: 'Shed (too many checkouts in flight here), or Postgres or Temporal did not answer in time; retry with the same key',
        errors: ['overloaded', 'temporarily_unavailable'],
        headers: { 'Retry-After': 'required' },
      },
    },
  },
];

function failedFields() {
  const { payment_id, amount_cents, currency, created_at } = completed;
  return { payment_id, status: 'failed', amount_cents, currency, created_at };
}
