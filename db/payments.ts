// SQL for the payments table: one row per idempotency key, holding the
// request's fingerprint, the status and the answer given for that key.
import type pg from 'pg';
import type { CheckoutAnswer } from '../domain/checkout-answer';
import type { CheckoutRequest, PaymentStatus } from '../domain/checkout';
import { withConnectionBy, type Run } from './deadline';

export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

export interface PaymentRow {
  payment_id: string;
  merchant_id: string;
  /** the key that created it; null for payments made before keys */
  api_key_id: string | null;
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
  /** When this payment's workflow first went to charge it (set before any provider call; 009_charge_attempted.sql). */
  charge_attempted_at: Date | null;
}

export interface NewPayment {
  merchantId: string;
  /** the API key making the checkout (the per-key rate counts these) */
  apiKeyId?: string;
  paymentId: string;
  idempotencyKey: string;
  workflowId: string;
  fingerprint: string;
  request: CheckoutRequest;
}

const INSERT_PENDING_SQL = `INSERT INTO payments
       (payment_id, idempotency_key, workflow_id, fingerprint, customer_id, amount_cents, currency, payment_method_id, merchant_id, api_key_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     -- any unique index: (merchant_id, idempotency_key) and workflow_id conflict
     -- together, and concurrent inserts may trip either first
     ON CONFLICT DO NOTHING
     RETURNING *`;

/** Inserts the pending row for a key, or returns the row already there (created: false). */
export async function insertPendingPayment(db: Queryable, p: NewPayment): Promise<{ row: PaymentRow; created: boolean }> {
  return insertOrFind((text, values) => db.query(text, values), p);
}

export async function insertOrFind(run: Run, p: NewPayment): Promise<{ row: PaymentRow; created: boolean }> {
  const inserted = await run<PaymentRow>(INSERT_PENDING_SQL, [
    p.paymentId,
    p.idempotencyKey,
    p.workflowId,
    p.fingerprint,
    p.request.customer_id,
    p.request.amount_cents,
    p.request.currency,
    p.request.payment_method_id,
    p.merchantId,
    p.apiKeyId ?? null,
  ]);
  if (inserted.rows[0]) return { row: inserted.rows[0], created: true };
  const existing = await run<PaymentRow>(FIND_BY_KEY_SQL, [p.merchantId, p.idempotencyKey]);
  if (!existing.rows[0]) throw new Error(`payment for key ${p.idempotencyKey} neither inserted nor found`);
  return { row: existing.rows[0], created: false };
}

export const FIND_BY_KEY_SQL = 'SELECT * FROM payments WHERE merchant_id = $1 AND idempotency_key = $2';

/** A merchant's payment for an Idempotency-Key. */
export async function findPaymentByKey(db: Queryable, merchantId: string, idempotencyKey: string): Promise<PaymentRow | undefined> {
  const res = await db.query<PaymentRow>(FIND_BY_KEY_SQL, [merchantId, idempotencyKey]);
  return res.rows[0];
}

/** Any merchant's payment: for the worker and operators. The api reads through findMerchantPayment. */
export async function findPaymentById(db: Queryable, paymentId: string): Promise<PaymentRow | undefined> {
  const res = await db.query<PaymentRow>('SELECT * FROM payments WHERE payment_id = $1', [paymentId]);
  return res.rows[0];
}

/** The payment, if it is this merchant's: another merchant's is as absent as one that never was. */
export async function findMerchantPayment(db: Queryable, merchantId: string, paymentId: string): Promise<PaymentRow | undefined> {
  const res = await db.query<PaymentRow>('SELECT * FROM payments WHERE payment_id = $1 AND merchant_id = $2', [paymentId, merchantId]);
  return res.rows[0];
}

/** The payment row a workflow records into is not there: waiting cannot bring it back. */
export class PaymentMissingError extends Error {
  override name = 'PaymentMissingError';
}

export interface PaymentOutcome {
  status: Exclude<PaymentStatus, 'pending'>;
  providerChargeId?: string;
  failureCode?: string;
  /** What this key answers from now on, first time and replays alike (domain/checkout-answer.ts). */
  answer: CheckoutAnswer;
}

/**
 * Records the final outcome once: a pending row moves to its terminal status;
 * a row already terminal is left as it is (a re-executed activity changes nothing).
 * `from` widens the statuses the move starts from: a refund also moves a row
 * whose completion committed although its activity never reported it (see
 * postRefundedCharge), since the money went back. Returns the row as it now
 * is, and whether this call moved it.
 */
export async function recordPaymentOutcome(
  db: Queryable,
  paymentId: string,
  outcome: PaymentOutcome,
  from: PaymentStatus[] = ['pending'],
): Promise<{ row: PaymentRow; changed: boolean }> {
  const moved = await db.query(
    `UPDATE payments
        SET status = $2, provider_charge_id = $3, failure_code = $4, response_status = $5, response = $6, updated_at = now()
      WHERE payment_id = $1 AND status = ANY($7::text[]) AND status <> $2`,
    [
      paymentId,
      outcome.status,
      outcome.providerChargeId ?? null,
      outcome.failureCode ?? null,
      outcome.answer.status,
      JSON.stringify(outcome.answer.body),
      from,
    ],
  );
  const row = await findPaymentById(db, paymentId);
  if (!row) throw new PaymentMissingError(`payment ${paymentId} does not exist`);
  return { row, changed: moved.rowCount === 1 };
}

/**
 * Marks that a workflow start is about to be attempted for a pending row, by
 * `deadline` (epoch ms) or DatabaseUnavailableError. False when the row is gone
 * (the orphan sweeper removed it) or no longer pending.
 */
export async function markStartAttempt(pool: pg.Pool, paymentId: string, deadline: number): Promise<boolean> {
  return withConnectionBy(pool, deadline, async (run) => {
    const res = await run("UPDATE payments SET start_attempted_at = now() WHERE payment_id = $1 AND status = 'pending'", [paymentId]);
    return res.rowCount === 1;
  });
}

/**
 * Marks that this payment's workflow is about to call the provider to charge
 * it, before the call, on every attempt (the first mark stays). The orphan
 * sweeper never deletes a row so marked (db/orphans.ts): whatever Temporal says
 * about the workflow later, money may have moved. False when the row is gone,
 * or closed without a charge ever attempted: then no charge may be sent for it.
 * A closed row whose charge was attempted is this workflow's own task run
 * again after a crash (its first attempts are local activities, re-run from
 * the task's start): the same provider key goes out again, and the provider
 * answers what it answered the first time, moving no money.
 */
export async function markChargeAttempt(db: Queryable, workflowId: string): Promise<boolean> {
  const res = await db.query(
    `UPDATE payments SET charge_attempted_at = coalesce(charge_attempted_at, now())
      WHERE workflow_id = $1 AND (status = 'pending' OR charge_attempted_at IS NOT NULL)`,
    [workflowId],
  );
  return res.rowCount === 1;
}
