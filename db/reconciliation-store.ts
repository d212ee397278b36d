// SQL for reconciliation runs and their findings. A run row is keyed by the
// tick's workflow ID and a finding by (kind, charge), so a retried activity or
// an overlapping window writes nothing twice.
import type pg from 'pg';
import type { LedgerChargePosting, Mismatch } from '../domain/reconciliation-compare';
import type { MismatchKind, ReconciliationWindow } from '../domain/reconciliation';
import { LEDGER_ACCOUNTS, LEDGER_STEPS } from './ledger';

type Queryable = Pick<pg.Pool, 'query'>;

export interface NewRun {
  runId: string;
  scheduleId: string;
  scheduledAt: Date | null;
  /** The window's end, used only the first time the run is written. */
  until: Date;
  intervalMs: number;
  overlapMs: number;
}

/**
 * Writes the run with its window, or returns the window written by an earlier
 * attempt. The window starts where the last finished run of the schedule ended,
 * less the overlap; the first run covers one interval (plus the overlap).
 */
export async function beginRun(db: Queryable, run: NewRun): Promise<ReconciliationWindow> {
  await db.query(
    `WITH last AS (
       SELECT max(window_until) AS until FROM reconciliation_runs
        WHERE schedule_id = $2 AND finished_at IS NOT NULL AND run_id <> $1
     ), since AS (
       SELECT coalesce(last.until, $4::timestamptz - make_interval(secs => $5::float8 / 1000))
              - make_interval(secs => $6::float8 / 1000) AS at
         FROM last
     )
     INSERT INTO reconciliation_runs (run_id, schedule_id, scheduled_at, window_since, window_until)
     SELECT $1, $2, $3, least(since.at, $4::timestamptz - interval '1 millisecond'), $4 FROM since
     ON CONFLICT (run_id) DO NOTHING`,
    [run.runId, run.scheduleId, run.scheduledAt, run.until, run.intervalMs, run.overlapMs],
  );
  const row = (
    await db.query<{ window_since: Date; window_until: Date }>(
      'SELECT window_since, window_until FROM reconciliation_runs WHERE run_id = $1',
      [run.runId],
    )
  ).rows[0];
  if (!row) throw new Error(`reconciliation run ${run.runId} neither written nor found`);
  return { runId: run.runId, since: row.window_since.toISOString(), until: row.window_until.toISOString() };
}

// A checkout's postings are its charge and, when it was refunded, the charge's
// reversal. What it holds at the provider is their net on provider clearing
// (debits less credits): the charge's amount, or zero once reversed, which is
// what a refunded charge nets to at the provider. `chosen` picks the checkouts
// (by a posting of theirs); the net is over all of their postings.
const STEPS = [LEDGER_STEPS.charge, LEDGER_STEPS.refund];
const postingsSql = (chosen: string) => `
  WITH chosen AS (
    SELECT DISTINCT t.workflow_id
      FROM ledger_transactions t
      JOIN payments p ON p.payment_id = t.payment_id
     WHERE t.step = ANY($1::text[]) AND (${chosen})
  )
  SELECT t.workflow_id, p.provider_charge_id,
         sum(CASE e.direction WHEN 'debit' THEN e.amount_cents ELSE -e.amount_cents END)::bigint AS amount_cents,
         e.currency
    FROM chosen c
    JOIN ledger_transactions t ON t.workflow_id = c.workflow_id AND t.step = ANY($1::text[])
    JOIN payments p ON p.payment_id = t.payment_id
    JOIN ledger_entries e ON e.transaction_id = t.id AND e.account_code = '${LEDGER_ACCOUNTS.providerClearing}'
   GROUP BY t.workflow_id, p.provider_charge_id, e.currency
  HAVING bool_or(t.step = '${LEDGER_STEPS.charge}')`;

/** Checkouts with a charge or reversal posting written in [since, until), each with its net posted amount. */
export async function postingsInWindow(db: Queryable, since: Date, until: Date): Promise<LedgerChargePosting[]> {
  return (await db.query<LedgerChargePosting>(postingsSql('t.created_at >= $2 AND t.created_at < $3'), [STEPS, since, until])).rows;
}

/** Checkouts whose postings name one of these charges, or that are one of these checkout workflows, each with its net posted amount. */
export async function postingsFor(db: Queryable, chargeIds: string[], workflowIds: string[]): Promise<LedgerChargePosting[]> {
  if (chargeIds.length === 0 && workflowIds.length === 0) return [];
  return (
    await db.query<LedgerChargePosting>(postingsSql('p.provider_charge_id = ANY($2::text[]) OR t.workflow_id = ANY($3::text[])'), [
      STEPS,
      chargeIds,
      workflowIds,
    ])
  ).rows;
}

/** Records findings not recorded before (by any run); returns the kinds of those newly recorded. */
export async function recordMismatches(db: Queryable, runId: string, mismatches: Mismatch[]): Promise<MismatchKind[]> {
  if (mismatches.length === 0) return [];
  const column = <K extends keyof Mismatch>(key: K) => mismatches.map((m) => m[key]);
  const res = await db.query<{ kind: MismatchKind }>(
    `INSERT INTO reconciliation_mismatches
       (run_id, kind, provider_charge_id, workflow_id, idempotency_key, provider_amount_cents, ledger_amount_cents, currency, merchant_id)
     SELECT $1::text, f.*, (SELECT p.merchant_id FROM payments p WHERE p.workflow_id = f.workflow_id)
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::text[])
            AS f (kind, provider_charge_id, workflow_id, idempotency_key, provider_amount_cents, ledger_amount_cents, currency)
     ON CONFLICT (kind, provider_charge_id) DO NOTHING
     RETURNING kind`,
    [
      runId,
      column('kind'),
      column('provider_charge_id'),
      column('workflow_id'),
      column('idempotency_key'),
      column('provider_amount_cents'),
      column('ledger_amount_cents'),
      column('currency'),
    ],
  );
  return res.rows.map((r) => r.kind);
}

/** Marks the run finished with its counts; the findings are counted from the table, so a retry counts the same. */
export async function finishRun(
  db: Queryable,
  runId: string,
  counts: { chargesChecked: number; postingsChecked: number },
): Promise<{ mismatchesFound: number }> {
  const res = await db.query<{ mismatches_found: number }>(
    `UPDATE reconciliation_runs
        SET finished_at = coalesce(finished_at, now()),
            charges_checked = $2,
            postings_checked = $3,
            mismatches_found = (SELECT count(*) FROM reconciliation_mismatches WHERE run_id = $1)
      WHERE run_id = $1
      RETURNING mismatches_found`,
    [runId, counts.chargesChecked, counts.postingsChecked],
  );
  return { mismatchesFound: res.rows[0]?.mismatches_found ?? 0 };
}

export interface RunRow {
  run_id: string;
  schedule_id: string;
  scheduled_at: Date | null;
  window_since: Date;
  window_until: Date;
  started_at: Date;
  finished_at: Date | null;
  charges_checked: number | null;
  postings_checked: number | null;
  mismatches_found: number | null;
}

export interface MismatchRow extends Mismatch {
  id: number;
  /** the merchant of the payment it names; null when it names none */
  merchant_id: string | null;
  run_id: string;
  found_at: Date;
}

/** The most recent runs, newest first, each with the findings it recorded. */
export async function recentRuns(db: Queryable, limit: number, scheduleId?: string): Promise<Array<RunRow & { mismatches: MismatchRow[] }>> {
  const runs = (
    await db.query<RunRow>(
      `SELECT * FROM reconciliation_runs WHERE ($2::text IS NULL OR schedule_id = $2)
        ORDER BY started_at DESC, run_id DESC LIMIT $1`,
      [limit, scheduleId ?? null],
    )
  ).rows;
  const found = (
    await db.query<MismatchRow>(
      `SELECT id, run_id, kind, provider_charge_id, workflow_id, idempotency_key, provider_amount_cents, ledger_amount_cents,
              trim(currency) AS currency, found_at, merchant_id
         FROM reconciliation_mismatches WHERE run_id = ANY($1::text[]) ORDER BY id`,
      [runs.map((r) => r.run_id)],
    )
  ).rows;
  return runs.map((run) => ({ ...run, mismatches: found.filter((m) => m.run_id === run.run_id) }));
}
