// The orphan sweeper's queries: pending rows whose workflow was never started.
//
// A row whose charge was attempted (charge_attempted_at, set by the charge
// activity before it calls the provider) is never a candidate, in the search
// and again in the delete: its workflow may have charged the customer, so
// deleting the row would leave money taken with no payment and no ledger entry,
// and "Temporal does not know the workflow" proves nothing once its retention
// has ended. Such a row stays pending for its workflow to finish, or for a
// person (reconciliation reports the charge if it stands).
import { type Queryable, type PaymentRow } from './payments';

/** Pending rows with no start attempted (or created) for olderThanMs and no charge ever attempted: candidates for the orphan sweeper. */
export async function findStalePendingPayments(db: Queryable, olderThanMs: number, limit: number): Promise<PaymentRow[]> {
  const res = await db.query<PaymentRow>(
    `SELECT * FROM payments
      WHERE status = 'pending'
        AND charge_attempted_at IS NULL
        AND created_at < now() - make_interval(secs => $1)
        AND coalesce(start_attempted_at, created_at) < now() - make_interval(secs => $1)
      ORDER BY created_at
      LIMIT $2`,
    [olderThanMs / 1000, limit],
  );
  return res.rows;
}

/**
 * Deletes a pending row whose workflow was never started, unless a start was
 * attempted within olderThanMs (a retry in flight wins), a charge was ever
 * attempted for it, or it has a ledger posting. True when deleted. The charge
 * activity marks the row before calling the provider and stops if the row is
 * gone, so a delete and a charge never both happen.
 */
export async function deleteOrphanPayment(db: Queryable, paymentId: string, olderThanMs: number): Promise<boolean> {
  const res = await db.query(
    `DELETE FROM payments
      WHERE payment_id = $1 AND status = 'pending'
        AND charge_attempted_at IS NULL
        AND coalesce(start_attempted_at, created_at) < now() - make_interval(secs => $2)
        AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = payments.payment_id)`,
    [paymentId, olderThanMs / 1000],
  );
  return res.rowCount === 1;
}
