// What the api's answers mean (README "The API"), and the CheckoutResult made
// from the answer that ends a checkout.
import type { ApiErrorBody, CheckoutResult, CheckoutStatus } from './types';

/** One HTTP answer as read: its status, headers, and JSON body (or the text when not JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

const TERMINAL_PAYMENT_STATUSES = new Set(['completed', 'failed', 'refunded']);
/** failure_code values of a failed payment that mean a decline rather than a provider failure. */
const DECLINE_CODES = new Set(['card_declined', 'insufficient_funds', 'fraud_rejected']);
/** 4xx answers that say "later", not "never". */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

export type Verdict =
  | { kind: 'final'; status: CheckoutStatus }
  | { kind: 'follow'; location: string }
  | { kind: 'retry' }
  | { kind: 'unexpected'; detail: string };

/** What one answer to POST /checkout means (README "The API"). */
export function classifyCheckoutAnswer(status: number, body: unknown, headers: Headers): Verdict {
  const paymentStatus = isRecord(body) && typeof body.status === 'string' ? body.status : undefined;
  if (status === 200 || status === 201) return { kind: 'final', status: 'completed' };
  if (status === 202) {
    const location = headers.get('location');
    // Without a Location the same key is simply sent again: it attaches to the same execution.
    return location ? { kind: 'follow', location } : { kind: 'retry' };
  }
  if (status === 402) return { kind: 'final', status: 'declined' };
  if (status === 422) return { kind: 'final', status: 'key_reused' };
  // 500/502 carrying a payment's final state are outcomes, not transient errors.
  if ((status === 500 || status === 502) && (paymentStatus === 'failed' || paymentStatus === 'refunded')) {
    return { kind: 'final', status: paymentStatus };
  }
  if (status >= 500 || RETRYABLE_4XX.has(status)) return { kind: 'retry' };
  if (status >= 400) return { kind: 'final', status: 'invalid_request' };
  return { kind: 'unexpected', detail: `POST /checkout answered ${status}` };
}

export type PollVerdict =
  | { kind: 'final'; status: CheckoutStatus; paymentStatus: string }
  | { kind: 'pending'; paymentStatus: string }
  | { kind: 'retry' }
  | { kind: 'unexpected' };

/** What one answer to GET of a 202's Location means. */
export function classifyPollAnswer(status: number, body: unknown): PollVerdict {
  if (status === 200 && isRecord(body) && typeof body.status === 'string') {
    const paymentStatus = body.status;
    return TERMINAL_PAYMENT_STATUSES.has(paymentStatus)
      ? { kind: 'final', status: statusOfPayment(paymentStatus, body), paymentStatus }
      : { kind: 'pending', paymentStatus };
  }
  if (status >= 500 || RETRYABLE_4XX.has(status)) return { kind: 'retry' };
  // 404 or another answer that polling again cannot fix
  return { kind: 'unexpected' };
}

/** The result of the answer that ended a checkout, with the tally of the call. */
export function checkoutResult(
  status: CheckoutStatus,
  answer: Answer,
  tally: Pick<CheckoutResult, 'attempts' | 'polls' | 'idempotencyKey'>,
): CheckoutResult {
  const body = answer.body;
  const record = isRecord(body) ? body : {};
  const paymentId = typeof record.payment_id === 'string' ? record.payment_id : undefined;
  const error = errorOf(record);
  return {
    status,
    httpStatus: answer.status,
    replayed: answer.headers.get('idempotent-replayed') === 'true',
    body,
    attempts: tally.attempts,
    polls: tally.polls,
    idempotencyKey: tally.idempotencyKey,
    ...(paymentId ? { paymentId } : {}),
    ...(error ? { error } : {}),
  };
}

function statusOfPayment(paymentStatus: string, payment: Record<string, unknown>): CheckoutStatus {
  if (paymentStatus === 'completed') return 'completed';
  if (paymentStatus === 'refunded') return 'refunded';
  return typeof payment.failure_code === 'string' && DECLINE_CODES.has(payment.failure_code) ? 'declined' : 'failed';
}

function errorOf(record: Record<string, unknown>): ApiErrorBody | undefined {
  const error = record.error;
  if (isRecord(error) && typeof error.code === 'string') {
    return {
      code: error.code,
      message: typeof error.message === 'string' ? error.message : '',
      ...(typeof error.field === 'string' ? { field: error.field } : {}),
    };
  }
  // a polled payment carries failure_code rather than an error object
  if (typeof record.failure_code === 'string') return { code: record.failure_code, message: `payment ${String(record.status)}` };
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
