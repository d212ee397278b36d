// The rates of new checkouts, counted in Postgres so every api instance
// agrees, applied as the payment row for a key is reserved: per (merchant,
// customer), and per API key (so varying customer_id does not buy unlimited
// card tries).
import type pg from 'pg';
import { withConnectionBy } from './deadline';
import { FIND_BY_KEY_SQL, insertOrFind, type NewPayment, type PaymentRow } from './payments';

/** The rate window: new payments of a customer within this many seconds count against its limit. */
export const RATE_WINDOW_SECONDS = 60;

export type Reservation =
  | { kind: 'reserved'; row: PaymentRow; created: boolean }
  /** the customer (or the key) is at its limit: nothing was written; a slot frees in retryAfterMs */
  | { kind: 'rate_limited'; limit: 'customer' | 'key'; perMinute: number; retryAfterMs: number };

/** One rate: its advisory lock, and the payments it counts ($3... in `where` are `params`). */
interface Limit {
  name: 'key' | 'customer';
  perMinute: number;
  lock: string;
  where: string;
  params: string[];
}

export interface ReserveOptions {
  /** new payments per (merchant, customer) per RATE_WINDOW_SECONDS, across every api instance; undefined: unlimited */
  perMinute?: number;
  /** new payments per API key (NewPayment.apiKeyId) per RATE_WINDOW_SECONDS; undefined: unlimited */
  perKeyPerMinute?: number;
  /** epoch ms by which the whole reservation (connecting included) must be done, else DatabaseUnavailableError */
  deadline: number;
}

/**
 * The merchant's row for a key: the one already there (never counted against
 * a rate), or a new pending one if the API key has fewer than
 * `perKeyPerMinute` and the (merchant, customer) fewer than `perMinute` new
 * payments in the last minute. Advisory locks per key and per customer
 * serialise the counts and the insert across api instances, so concurrent
 * checkouts cannot overshoot.
 */
export async function reservePendingPayment(pool: pg.Pool, p: NewPayment, options: ReserveOptions): Promise<Reservation> {
  return withConnectionBy(pool, options.deadline, async (run) => {
    // a replay or an attach: one indexed read, no lock, not counted
    const existing = await run<PaymentRow>(FIND_BY_KEY_SQL, [p.merchantId, p.idempotencyKey]);
    if (existing.rows[0]) return { kind: 'reserved', row: existing.rows[0], created: false };
    const limits: Limit[] = [];
    if (options.perKeyPerMinute !== undefined && p.apiKeyId !== undefined) {
      limits.push({ name: 'key', perMinute: options.perKeyPerMinute, lock: `key:${p.apiKeyId}`, where: 'api_key_id = $3', params: [p.apiKeyId] });
    }
    if (options.perMinute !== undefined) {
      limits.push({
        name: 'customer',
        perMinute: options.perMinute,
        lock: `customer:${p.merchantId}:${p.request.customer_id}`,
        where: 'merchant_id = $3 AND customer_id = $4',
        params: [p.merchantId, p.request.customer_id],
      });
    }
    if (limits.length === 0) return { kind: 'reserved', ...(await insertOrFind(run, p)) };

    await run('BEGIN');
    // always key before customer: two requests never wait on each other's locks
    for (const l of limits) await run('SELECT pg_advisory_xact_lock(hashtext($1))', [l.lock]);
    // a concurrent request with this key may have committed while we waited for the lock
    const raced = await run<PaymentRow>(FIND_BY_KEY_SQL, [p.merchantId, p.idempotencyKey]);
    if (raced.rows[0]) {
      await run('COMMIT');
      return { kind: 'reserved', row: raced.rows[0], created: false };
    }
    for (const l of limits) {
      // The perMinute-th newest payment in the window: while it exists the
      // limit is reached, and a slot frees when it leaves the window.
      const full = await run<{ retry_after_ms: number }>(
        `SELECT greatest(0, extract(epoch FROM created_at + make_interval(secs => $1) - clock_timestamp()) * 1000)::float8 AS retry_after_ms
           FROM payments
          WHERE ${l.where} AND created_at > now() - make_interval(secs => $1)
          ORDER BY created_at DESC
         OFFSET $2 LIMIT 1`,
        [RATE_WINDOW_SECONDS, l.perMinute - 1, ...l.params],
      );
      if (full.rows[0]) {
        await run('ROLLBACK');
        return { kind: 'rate_limited', limit: l.name, perMinute: l.perMinute, retryAfterMs: full.rows[0].retry_after_ms };
      }
    }
    const reserved = await insertOrFind(run, p);
    await run('COMMIT');
    return { kind: 'reserved', ...reserved };
  });
}
