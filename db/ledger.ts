// The double-entry ledger. A posting is one transaction keyed by
// (workflow ID, step): written with ON CONFLICT DO NOTHING, so an activity
// re-executed after a crash (even after its commit) posts nothing new.
//
// Steps: 'charge' (debit provider clearing, credit merchant payable) when the
// provider charged; 'refund', its reversal (debit merchant payable, credit
// provider clearing), when the charge was refunded. A refunded payment has
// both, so the ledger explains every charge the provider made, and nets it to
// zero when the money went back.
import type pg from 'pg';
import { inTransaction, type Pool } from './pool';
import { recordPaymentOutcome, type PaymentRow } from './payments';
import { insertPaymentEvent } from './webhooks-events';
import type { ChargedPayment } from '../domain/checkout';
import type { CheckoutAnswer } from '../domain/checkout-answer';

export const LEDGER_ACCOUNTS = {
  providerClearing: 'provider_clearing',
  merchantPayable: 'merchant_payable',
} as const;

/** The steps a checkout posts; reconciliation and the invariant checks count these. */
export const LEDGER_STEPS = {
  charge: 'charge',
  refund: 'refund',
} as const;

export interface ChargePosting {
  workflowId: string;
  payment: ChargedPayment;
  /** The answer the key gives from now on (domain/checkout-answer.ts). */
  answer: CheckoutAnswer;
}

type LedgerAccount = (typeof LEDGER_ACCOUNTS)[keyof typeof LEDGER_ACCOUNTS];

/** One balanced posting, keyed (workflow ID, step); false when it was there already. */
async function post(
  client: pg.PoolClient,
  p: { workflowId: string; step: string; payment: ChargedPayment; description: string; debit: LedgerAccount; credit: LedgerAccount },
): Promise<boolean> {
  const tx = await client.query<{ id: number }>(
    `INSERT INTO ledger_transactions (workflow_id, step, payment_id, description)
     VALUES ($1, $2, $3, $4)
     ON CONFLICT (workflow_id, step) DO NOTHING
     RETURNING id`,
    [p.workflowId, p.step, p.payment.payment_id, p.description],
  );
  const transactionId = tx.rows[0]?.id;
  if (transactionId === undefined) return false;
  await client.query(
    `INSERT INTO ledger_entries (transaction_id, account_code, direction, amount_cents, currency)
     VALUES ($1, $2, 'debit', $4, $5), ($1, $3, 'credit', $4, $5)`,
    [transactionId, p.debit, p.credit, p.payment.amount_cents, p.payment.currency],
  );
  return true;
}

function chargePosting(posting: ChargePosting) {
  const { workflowId, payment } = posting;
  return {
    workflowId,
    step: LEDGER_STEPS.charge,
    payment,
    description: `charge ${payment.provider_charge_id}`,
    debit: LEDGER_ACCOUNTS.providerClearing,
    credit: LEDGER_ACCOUNTS.merchantPayable,
  };
}

/**
 * In one database transaction: the charge posting (debit provider clearing,
 * credit merchant payable) and the payment row's completion with its answer.
 */
export async function postCompletedCharge(pool: Pool, posting: ChargePosting): Promise<{ posted: boolean; row: PaymentRow }> {
  const { payment } = posting;
  return inTransaction(pool, async (client) => {
    const posted = await post(client, chargePosting(posting));
    const { row } = await recordPaymentOutcome(client, payment.payment_id, {
      status: 'completed',
      providerChargeId: payment.provider_charge_id,
      answer: posting.answer,
    });
    // the webhook outbox row commits with the status, or neither does
    if (row.status === 'completed') await insertPaymentEvent(client, 'payment.completed', { ...posting.answer.body });
    return { posted, row };
  });
}

/**
 * In one database transaction, for a charge the provider refunded: the charge
 * posting (unless it committed before: the same key), its reversal (debit
 * merchant payable, credit provider clearing, same amount and currency), the
 * payment row `refunded` with its answer, and the payment.refunded outbox row.
 * The row moves from `pending`, or from `completed` when the completion
 * committed but its activity never reported it and the workflow refunded
 * anyway: the money went back, so the row says so. Re-executed, it adds nothing.
 */
export async function postRefundedCharge(
  pool: Pool,
  posting: ChargePosting,
): Promise<{ chargePosted: boolean; reversalPosted: boolean; row: PaymentRow }> {
  const { workflowId, payment } = posting;
  return inTransaction(pool, async (client) => {
    const chargePosted = await post(client, chargePosting(posting));
    const reversalPosted = await post(client, {
      workflowId,
      step: LEDGER_STEPS.refund,
      payment,
      description: `refund of charge ${payment.provider_charge_id}`,
      debit: LEDGER_ACCOUNTS.merchantPayable,
      credit: LEDGER_ACCOUNTS.providerClearing,
    });
    const { row } = await recordPaymentOutcome(
      client,
      payment.payment_id,
      { status: 'refunded', providerChargeId: payment.provider_charge_id, failureCode: 'payment_reversed', answer: posting.answer },
      ['pending', 'completed'],
    );
    if (row.status === 'refunded') await insertPaymentEvent(client, 'payment.refunded', { ...posting.answer.body });
    return { chargePosted, reversalPosted, row };
  });
}
