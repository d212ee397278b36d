// Names and types that cross the api / workflow / activity line. Imported by
// workflow code, so nothing here may do I/O or touch Node built-ins.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CHECKOUT_WORKFLOW_ID_PREFIX = 'checkout-';

/** The workflow ID of a checkout is the client's Idempotency-Key behind a fixed prefix. */
export function checkoutWorkflowId(idempotencyKey: string): string {
  return `${CHECKOUT_WORKFLOW_ID_PREFIX}${idempotencyKey}`;
}

/** Each provider operation gets its own key derived from the workflow ID, never shared. */
export function providerKey(workflowId: string, operation: 'charge' | 'refund'): string {
  return `${workflowId}:${operation}`;
}

export type Currency = string; // ISO 4217, three upper-case letters

export interface CheckoutRequest {
  customer_id: string;
  amount_cents: number;
  currency: Currency;
  payment_method_id: string;
}

export interface ActivityBudgets {
  fraudMs: number;
  chargeMs: number;
  notifyMs: number;
  /** Total time a charge may keep retrying (schedule-to-close); CHARGE_RETRY's default when absent. */
  chargeTotalMs?: number;
}

/** DESIGN §3 defaults; the api passes the configured values in each workflow input. */
export const DEFAULT_ACTIVITY_BUDGETS: ActivityBudgets = { fraudMs: 500, chargeMs: 2_000, notifyMs: 1_000 };

export interface CheckoutInput {
  paymentId: string;
  idempotencyKey: string;
  request: CheckoutRequest;
  /** ISO time the payment was accepted; part of the answer, fixed once. */
  createdAt: string;
  budgets?: ActivityBudgets;
}

export interface CompletedPayment {
  payment_id: string;
  status: 'completed';
  amount_cents: number;
  currency: Currency;
  provider_charge_id: string;
  created_at: string;
}

export interface RefundedPayment {
  payment_id: string;
  status: 'refunded';
  amount_cents: number;
  currency: Currency;
  created_at: string;
  provider_charge_id: string;
  error: { code: string; message: string };
}

/**
 * declined: the provider or our fraud rules refused (402); failed: gave up on
 * the provider (502); refunded: charged, then a later step failed for good and
 * the charge was refunded (500).
 */
export type CheckoutOutcome =
  | { outcome: 'completed'; payment: CompletedPayment }
  | { outcome: 'declined'; payment: FailedPayment }
  | { outcome: 'failed'; payment: FailedPayment }
  | { outcome: 'refunded'; payment: RefundedPayment };

export type PaymentStatus = 'pending' | 'completed' | 'failed' | 'refunded';

/** Retry shape of the compensating refund: patient, money is out until it lands. */
export const REFUND_RETRY = {
  initialIntervalMs: 1_000,
  maximumIntervalMs: 60_000,
  maximumAttempts: 100,
};

/** A charge as the provider reports it. */
export interface ProviderCharge {
  id: string;
  amount_cents: number;
  currency: Currency;
  created: number;
}

/** A refund as the provider reports it. */
export interface ProviderRefund {
  id: string;
  charge_id: string;
}

/**
 * Custom search attributes, registered when the dev server starts and upserted
 * by the workflow, so a payment is found in the Web UI by customer and status
 * (and by idempotency key through its workflow ID).
 */
export const SEARCH_ATTRIBUTES = {
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  paymentStatus: defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD),
  amountCents: defineSearchAttributeKey('AmountCents', SearchAttributeType.INT),
};

export interface FailedPayment {
  payment_id: string;
  status: 'failed';
  amount_cents: number;
  currency: Currency;
  created_at: string;
  error: { code: string; message: string };
}

/**
 * Retry shape of the provider charge; the activity jitters within it (full
 * jitter). The total time bounds it (waits for an open breaker or a deferred
 * retry count as attempts, so the attempt cap is only a backstop).
 */
export const CHARGE_RETRY = {
  initialIntervalMs: 200,
  maximumIntervalMs: 30_000,
  maximumAttempts: 1_000,
  /** After this the payment fails for good with a reason. */
  scheduleToCloseMs: 60 * 60 * 1000,
};

/** The HTTP status each outcome is answered with, first time and on every replay. */
export const OUTCOME_HTTP_STATUS: Record<CheckoutOutcome['outcome'], number> = {
  completed: 201,
  declined: 402,
  failed: 502,
  refunded: 500,
};
