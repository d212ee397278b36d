// A checkout as the api, the workflow and the activities pass it around: the
// request, the workflow's input and the domain outcome it returns. Imported by
// workflow code: no I/O. How an outcome is answered over HTTP is decided in
// one place only, ./checkout-answer.ts.

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
  /**
   * How long a recording step (ledger posting, payment row) keeps waiting for
   * an unreachable database while the payment stays pending (schedule-to-close
   * of each recording step, no attempt cap). Absent (an input from an older
   * api) or 0: no pending window, the old policy (ledgerOldPolicyMaxAttempts).
   */
  paymentPendingMaxMs?: number;
  /** The old policy's attempt cap, used only without a pending window; LEDGER_RETRY.oldPolicyMaximumAttempts (50) when absent. */
  ledgerOldPolicyMaxAttempts?: number;
}

/** The timeout budget's defaults (docs/design.md, "Timeout budget"); the api passes the configured values in each workflow input. */
export const DEFAULT_ACTIVITY_BUDGETS: ActivityBudgets = { fraudMs: 500, chargeMs: 2_000, notifyMs: 1_000 };

export interface CheckoutInput {
  /** absent in histories from before merchants; the workflow does not read it (its MerchantId search attribute does) */
  merchantId?: string;
  paymentId: string;
  idempotencyKey: string;
  request: CheckoutRequest;
  /** ISO time the payment was accepted; part of the answer, fixed once. */
  createdAt: string;
  budgets?: ActivityBudgets;
}

export type PaymentStatus = 'pending' | 'completed' | 'failed' | 'refunded';

/** What a checkout is about, whatever its outcome. */
export interface PaymentFacts {
  payment_id: string;
  amount_cents: number;
  currency: Currency;
  created_at: string;
}

/** A payment the provider charged. */
export interface ChargedPayment extends PaymentFacts {
  provider_charge_id: string;
}

export type DeclineCode = 'card_declined' | 'insufficient_funds' | 'fraud_rejected';

/**
 * How a checkout ended. completed: charged and recorded; declined: the
 * provider or our fraud rules refused; failed: gave up on the provider, no
 * charge confirmed; refunded: charged, then recording failed for good and the
 * charge was refunded.
 */
export type CheckoutOutcome =
  | { outcome: 'completed'; payment: ChargedPayment }
  | { outcome: 'declined'; payment: PaymentFacts; code: DeclineCode }
  | { outcome: 'failed'; payment: PaymentFacts; code: 'provider_unavailable' }
  | { outcome: 'refunded'; payment: ChargedPayment; code: 'payment_reversed' };

export type FailedOutcome = Extract<CheckoutOutcome, { outcome: 'declined' | 'failed' }>;
export type RefundedOutcome = Extract<CheckoutOutcome, { outcome: 'refunded' }>;
export type CompletedOutcome = Extract<CheckoutOutcome, { outcome: 'completed' }>;
