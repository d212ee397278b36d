// SQL for the payments table: one row per idempotency key, holding the
// request's fingerprint, the status and the answer given for that key.
import type pg from 'pg';
import type { CheckoutRequest, PaymentStatus } from '../shared';

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface PaymentRow {
  payment_id: string;
  idempotency_key: string;
  workflow_id: string;
  fingerprint: string;
  customer_id: string;
  amount_cents: number;
  currency: string;
  payment_method_id: string;
  status: PaymentStatus;
  provider_charge_id: string | null;
  failure_code: string | null;
  response_status: number | null;
  response: unknown;
  created_at: Date;
  updated_at: Date;
  start_attempted_at: Date | null;
}

export interface NewPayment {
  paymentId: string;
  idempotencyKey: string;
  workflowId: string;
  fingerprint: string;
  request: CheckoutRequest;
}

type Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>>;

const INSERT_PENDING_SQL = `INSERT INTO payments (payment_id, idempotency_key, workflow_id, fingerprint, customer_id, amount_cents, currency, payment_method_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     -- any unique column: idempotency_key and workflow_id conflict together, and
     -- concurrent inserts may trip either index first
     ON CONFLICT DO NOTHING
     RETURNING *`;

/** Inserts the pending row for a key, or returns the row already there (created: false). */
export async function insertPendingPayment(db: Queryable, p: NewPayment): Promise<{ row: PaymentRow; created: boolean }> {
  return insertOrFind((text, values) => db.query(text, values), p);
}

async function insertOrFind(run: Run, p: NewPayment): Promise<{ row: PaymentRow; created: boolean }> {
  const inserted = await run<PaymentRow>(INSERT_PENDING_SQL, [
    p.paymentId,
    p.idempotencyKey,
    p.workflowId,
    p.fingerprint,
    p.request.customer_id,
    p.request.amount_cents,
    p.request.currency,
    p.request.payment_method_id,
  ]);
  if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
  const existing = await run<PaymentRow>('SELECT * FROM payments WHERE idempotency_key = $1', [p.idempotencyKey]);
  if (!existing.rows[0]) throw new Error(`payment for key ${p.idempotencyKey} neither inserted nor found`);
  return { row: existing.rows[0], created: false };
}

/** Postgres did not answer in time (no connection, or a statement past its deadline). */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

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
  const remaining = () => {
    const ms = options.deadline - Date.now();
    if (ms <= 0) throw new DatabaseUnavailableError('Postgres did not answer within the deadline');
    return ms;
  };
  const client = await connectWithin(pool, remaining());
  // pg honours a per-query read timeout (query_timeout) though its types don't list it
  const run: Run = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const query: pg.QueryConfig & { query_timeout: number } = { text, values, query_timeout: remaining() };
    return client.query<R>(query);
  };
  let broken: Error | undefined;
  try {
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
  } catch (err) {
    // the connection may be mid-transaction or mid-query: close it rather than reuse it
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** pool.connect() bounded by ms; a connection arriving after that goes back to the pool. */
export async function connectWithin(pool: pg.Pool, ms: number): Promise<pg.PoolClient> {
  const pending = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseUnavailableError(`no Postgres connection within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    pending.then(
      (late) => late.release(),
      () => undefined,
    );
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export async function findPaymentByKey(db: Queryable, idempotencyKey: string): Promise<PaymentRow | undefined> {
  const res = await db.query<PaymentRow>('SELECT * FROM payments WHERE idempotency_key = $1', [idempotencyKey]);
  return res.rows[0];
}

export async function findPaymentById(db: Queryable, paymentId: string): Promise<PaymentRow | undefined> {
  const res = await db.query<PaymentRow>('SELECT * FROM payments WHERE payment_id = $1', [paymentId]);
  return res.rows[0];
}

export interface PaymentOutcome {
  status: Exclude<PaymentStatus, 'pending'>;
  providerChargeId?: string;
  failureCode?: string;
  responseStatus: number;
  response: unknown;
}

/**
 * Records the final outcome once: a pending row moves to its terminal status;
 * a row already terminal is left as it is (a re-executed activity changes nothing).
 */
export async function recordPaymentOutcome(db: Queryable, paymentId: string, outcome: PaymentOutcome): Promise<PaymentRow> {
  await db.query(
    `UPDATE payments
        SET status = $2, provider_charge_id = $3, failure_code = $4, response_status = $5, response = $6, updated_at = now()
      WHERE payment_id = $1 AND status = 'pending'`,
    [
      paymentId,
      outcome.status,
      outcome.providerChargeId ?? null,
      outcome.failureCode ?? null,
      outcome.responseStatus,
      JSON.stringify(outcome.response),
    ],
  );
  const row = await findPaymentById(db, paymentId);
  if (!row) throw new Error(`payment ${paymentId} does not exist`);
  return row;
}

/**
 * Marks that a workflow start is about to be attempted for a pending row, by
 * `deadline` (epoch ms) or DatabaseUnavailableError. False when the row is gone
 * (the orphan sweeper removed it) or no longer pending.
 */
export async function markStartAttempt(pool: pg.Pool, paymentId: string, deadline: number): Promise<boolean> {
  const remaining = () => {
    const ms = deadline - Date.now();
    if (ms <= 0) throw new DatabaseUnavailableError('Postgres did not answer within the deadline');
    return ms;
  };
  const client = await connectWithin(pool, remaining());
  let broken: Error | undefined;
  try {
    const query: pg.QueryConfig & { query_timeout: number } = {
      text: "UPDATE payments SET start_attempted_at = now() WHERE payment_id = $1 AND status = 'pending'",
      values: [paymentId],
      query_timeout: remaining(),
    };
    const res = await client.query(query);
    return res.rowCount === 1;
  } catch (err) {
    broken = err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    client.release(broken);
  }
}

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
