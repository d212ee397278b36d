// The double-entry ledger. A posting is one transaction keyed by
// (workflow ID, step): written with ON CONFLICT DO NOTHING, so an activity
// re-executed after a crash (even after its commit) posts nothing new.
import { inTransaction, type Pool } from './pool';
import { recordPaymentOutcome, type PaymentRow } from './payments';
import { insertPaymentEvent } from './webhooks-events';
import type { ChargedPayment } from '../domain/checkout';
import type { CheckoutAnswer } from '../domain/checkout-answer';

export const LEDGER_ACCOUNTS = {
  providerClearing: 'provider_clearing',
  merchantPayable: 'merchant_payable',
} as const;

export interface ChargePosting {
  workflowId: string;
  payment: ChargedPayment;
  /** The answer the key gives from now on (domain/checkout-answer.ts). */
  answer: CheckoutAnswer;
}

/**
 * In one database transaction: the charge posting (debit provider clearing,
 * credit merchant payable) and the payment row's completion with its answer.
 */
export async function postCompletedCharge(pool: Pool, posting: ChargePosting): Promise<{ posted: boolean; row: PaymentRow }> {
  const { payment } = posting;
  return inTransaction(pool, async (client) => {
    const tx = await client.query<{ id: number }>(
      `INSERT INTO ledger_transactions (workflow_id, step, payment_id, description)
       VALUES ($1, 'charge', $2, $3)
       ON CONFLICT (workflow_id, step) DO NOTHING
       RETURNING id`,
      [posting.workflowId, payment.payment_id, `charge ${payment.provider_charge_id}`],
    );
    const transactionId = tx.rows[0]?.id;
    if (transactionId !== undefined) {
      await client.query(
        `INSERT INTO ledger_entries (transaction_id, account_code, direction, amount_cents, currency)
         VALUES ($1, $2, 'debit', $4, $5), ($1, $3, 'credit', $4, $5)`,
        [transactionId, LEDGER_ACCOUNTS.providerClearing, LEDGER_ACCOUNTS.merchantPayable, payment.amount_cents, payment.currency],
      );
    }
    const row = await recordPaymentOutcome(client, payment.payment_id, {
      status: 'completed',
      providerChargeId: payment.provider_charge_id,
      answer: posting.answer,
    });
    // the webhook outbox row commits with the status, or neither does
    if (row.status === 'completed') await insertPaymentEvent(client, 'payment.completed', { ...posting.answer.body });
    return { posted: transactionId !== undefined, row };
  });
}
