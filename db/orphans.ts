// The orphan sweeper's queries: pending rows whose workflow was never started.
import { type Queryable, type PaymentRow } from './payments';

/** Pending rows with no start attempted (or created) for olderThanMs: candidates for the orphan sweeper. */
export async function findStalePendingPayments(db: Queryable, olderThanMs: number, limit: number): Promise<PaymentRow[]> {
  const res = await db.query<PaymentRow>(
    `SELECT * FROM payments
      WHERE status = 'pending'
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
 * attempted within olderThanMs (a retry in flight wins). True when deleted.
 */
export async function deleteOrphanPayment(db: Queryable, paymentId: string, olderThanMs: number): Promise<boolean> {
  const res = await db.query(
    `DELETE FROM payments
      WHERE payment_id = $1 AND status = 'pending'
        AND coalesce(start_attempted_at, created_at) < now() - make_interval(secs => $2)
        AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.payment_id = payments.payment_id)`,
    [paymentId, olderThanMs / 1000],
  );
  return res.rowCount === 1;
}
