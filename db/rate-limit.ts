// The per-customer rate of new checkouts, counted in Postgres so every api
// instance agrees, applied as the payment row for a key is reserved.
import type pg from 'pg';
import { withConnectionBy } from './deadline';
import { insertOrFind, type NewPayment, type PaymentRow } from './payments';

/** The rate window: new payments of a customer within this many seconds count against its limit. */
export const RATE_WINDOW_SECONDS = 60;

export type Reservation =
  | { kind: 'reserved'; row: PaymentRow; created: boolean }
  /** the customer is at its limit: nothing was written; a slot frees in retryAfterMs */
  | { kind: 'rate_limited'; retryAfterMs: number };

export interface ReserveOptions {
  /** new payments per customer per RATE_WINDOW_SECONDS, across every api instance; undefined: unlimited */
  perMinute?: number;
  /** epoch ms by which the whole reservation (connecting included) must be done, else DatabaseUnavailableError */
  deadline: number;
}

/**
 * The row for a key: the one already there (never counted against the rate),
 * or a new pending one if the customer has fewer than `perMinute` new payments
 * in the last minute. A per-customer advisory lock serialises the count and
 * the insert across api instances, so concurrent checkouts cannot overshoot.
 */
export async function reservePendingPayment(pool: pg.Pool, p: NewPayment, options: ReserveOptions): Promise<Reservation> {
  return withConnectionBy(pool, options.deadline, async (run) => {
    // a replay or an attach: one indexed read, no lock, not counted
    const existing = await run<PaymentRow>('SELECT * FROM payments WHERE idempotency_key = $1', [p.idempotencyKey]);
    if (existing.rows[0]) return { kind: 'reserved', row: existing.rows[0], created: false };
    if (options.perMinute === undefined) return { kind: 'reserved', ...(await insertOrFind(run, p)) };

    await run('BEGIN');
    await run('SELECT pg_advisory_xact_lock(hashtext($1))', [p.request.customer_id]);
    // a concurrent request with this key may have committed while we waited for the lock
    const raced = await run<PaymentRow>('SELECT * FROM payments WHERE idempotency_key = $1', [p.idempotencyKey]);
    if (raced.rows[0]) {
      await run('COMMIT');
      return { kind: 'reserved', row: raced.rows[0], created: false };
    }
    // The perMinute-th newest payment in the window: while it exists the customer
    // is at its limit, and a slot frees when it leaves the window.
    const full = await run<{ retry_after_ms: number }>(
      `SELECT greatest(0, extract(epoch FROM created_at + make_interval(secs => $2) - clock_timestamp()) * 1000)::float8 AS retry_after_ms
         FROM payments
        WHERE customer_id = $1 AND created_at > now() - make_interval(secs => $2)
        ORDER BY created_at DESC
       OFFSET $3 LIMIT 1`,
      [p.request.customer_id, RATE_WINDOW_SECONDS, options.perMinute - 1],
    );
    if (full.rows[0]) {
      await run('ROLLBACK');
      return { kind: 'rate_limited', retryAfterMs: full.rows[0].retry_after_ms };
    }
    const reserved = await insertOrFind(run, p);
    await run('COMMIT');
    return { kind: 'reserved', ...reserved };
  });
}
