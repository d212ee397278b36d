// The one place that decides what a checkout answers over HTTP: status and
// body for each outcome. Used where the answer is stored (the recording
// activities, for replays) and where it is first sent (the api). Pure.
import type { ChargedPayment, CheckoutOutcome, Currency, PaymentFacts } from './checkout';

export interface CompletedPaymentBody extends ChargedPayment {
  status: 'completed';
}

export interface FailedPaymentBody extends PaymentFacts {
  status: 'failed';
  error: { code: string; message: string };
}

export interface RefundedPaymentBody extends ChargedPayment {
  status: 'refunded';
  error: { code: string; message: string };
}

export type CheckoutAnswerBody = CompletedPaymentBody | FailedPaymentBody | RefundedPaymentBody;

export interface CheckoutAnswer {
  status: number;
  body: CheckoutAnswerBody;
}

const MESSAGES = {
  declined: 'the payment was declined',
  failed: 'the payment provider could not be reached; no charge was confirmed',
  refunded: 'the payment could not be recorded and was refunded in full',
} as const;

/** completed 201, declined 402, failed (provider gave up) 502, refunded 500: first time and on every replay. */
export function renderCheckoutAnswer(outcome: CheckoutOutcome): CheckoutAnswer {
  const { payment_id, amount_cents, currency, created_at } = outcome.payment;
  switch (outcome.outcome) {
    case 'completed':
      return { status: 201, body: { payment_id, status: 'completed', amount_cents, currency, provider_charge_id: outcome.payment.provider_charge_id, created_at } };
    case 'declined':
    case 'failed':
      return {
        status: outcome.outcome === 'declined' ? 402 : 502,
        body: { payment_id, status: 'failed', amount_cents, currency, created_at, error: { code: outcome.code, message: MESSAGES[outcome.outcome] } },
      };
    case 'refunded':
      return {
        status: 500,
        body: {
          payment_id,
          status: 'refunded',
          amount_cents,
          currency,
          provider_charge_id: outcome.payment.provider_charge_id,
          created_at,
          error: { code: outcome.code, message: MESSAGES.refunded },
        },
      };
  }
}

/** A replay answers what the first request got, except that a creation (201) is now a plain 200. */
export function asReplay(status: number): number {
  return status === 201 ? 200 : status;
}

/**
 * An outcome as recorded in a workflow result or an activity input. Runs from
 * before the answer moved out of the workflow carry the rendered body, with
 * the code under `payment.error`; this reads both.
 */
export function checkoutOutcomeOf(recorded: {
  outcome: CheckoutOutcome['outcome'];
  payment: PaymentFacts & { provider_charge_id?: string; error?: { code: string } };
  code?: string;
}): CheckoutOutcome {
  const { payment_id, amount_cents, currency, created_at } = recorded.payment;
  const facts: PaymentFacts = { payment_id, amount_cents, currency: currency as Currency, created_at };
  const code = recorded.code ?? recorded.payment.error?.code;
  const charged = { ...facts, provider_charge_id: recorded.payment.provider_charge_id ?? '' };
  switch (recorded.outcome) {
    case 'completed':
      return { outcome: 'completed', payment: charged };
    case 'refunded':
      return { outcome: 'refunded', payment: charged, code: 'payment_reversed' };
    case 'failed':
      return { outcome: 'failed', payment: facts, code: 'provider_unavailable' };
    case 'declined':
      return { outcome: 'declined', payment: facts, code: (code ?? 'card_declined') as Extract<CheckoutOutcome, { outcome: 'declined' }>['code'] };
  }
}
