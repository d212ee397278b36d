// The invariants every drill ends on (docs/design.md, "Failure scenarios and drills"), from each part's own records:
// the stub's charges, the ledger (charge postings and their reversals), the payments table and Temporal's runs
// (still open, or closed with a status their row does not have).
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes';

export interface InvariantReport {
  ok: boolean;
  violations: string[];
  counts: {
    chargesApplied: number;
    chargesRefunded: number;
    completedPayments: number;
    refundedPayments: number;
    failedPayments: number;
    pendingPayments: number;
    ledgerChargePostings: number;
    /** Reversals of charge postings (step 'refund'), one per refunded payment. */
    ledgerRefundPostings: number;
    openWorkflows: number;
  };
}

interface StubCharge {
  id: string;
  idempotency_key: string;
  refunded: boolean;
}

const SHOW = 5; // violations listed per kind; the count says how many in all

/**
 * Checkout workflows still running. Visibility lists the candidates and describe, which is
 * strongly consistent, confirms each: visibility tasks are not applied in order, so the
 * PaymentStatus upsert a checkout makes just before it completes can land after its close and
 * list it as Running for good (temporalio/temporal#5643; seen in CI after provider-down).
 */
export async function runningCheckouts(client: Client): Promise<string[]> {
  const listed: string[] = [];
  for await (const wf of client.workflow.list({ query: `ExecutionStatus = "Running" AND WorkflowType = "checkout"` })) listed.push(wf.workflowId);
  const running: string[] = [];
  for (const workflowId of listed) {
    if ((await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING') running.push(workflowId);
  }
  return running;
}

export async function checkInvariants(deps: { pool: Pool; stubUrl: string; client: Client }): Promise<InvariantReport> {
  const violations: string[] = [];
  const report = (kind: string, keys: string[]) => {
    if (keys.length === 0) return;
    const more = keys.length > SHOW ? ` (+${keys.length - SHOW} more)` : '';
    violations.push(`${kind}: ${keys.length} [${keys.slice(0, SHOW).join(', ')}${more}]`);
  };

  const res = await fetch(new URL('/charges', deps.stubUrl), { signal: AbortSignal.timeout(10_000) });
  const charges = ((await res.json()) as { data: StubCharge[] }).data;

  // 1. at most one provider charge per payment (its charge key)
  const perKey = new Map<string, number>();
  for (const c of charges) perKey.set(c.idempotency_key, (perKey.get(c.idempotency_key) ?? 0) + 1);
  report('more than one provider charge for a key', [...perKey].filter(([, n]) => n > 1).map(([k]) => k));

  // 2. every ledger transaction balances, and the trial balance is zero
  const unbalanced = await deps.pool.query<{ workflow_id: string }>(
    `SELECT t.workflow_id FROM ledger_transactions t JOIN ledger_entries e ON e.transaction_id = t.id
      GROUP BY t.id, t.workflow_id, e.currency
     HAVING sum(CASE e.direction WHEN 'debit' THEN e.amount_cents ELSE -e.amount_cents END) <> 0`,
  );
  report('unbalanced ledger transaction', unbalanced.rows.map((r) => r.workflow_id));
  const trial = await deps.pool.query<{ currency: string; total: number }>(
    'SELECT currency, sum(balance_cents)::bigint AS total FROM ledger_trial_balance GROUP BY currency HAVING sum(balance_cents) <> 0',
  );
  report('trial balance not zero', trial.rows.map((r) => `${r.currency} ${r.total}`));

  // 3. every accepted checkout reached a terminal state, in the payments table and in Temporal
  const payments = await deps.pool.query<{ workflow_id: string; status: string; provider_charge_id: string | null }>(
    'SELECT workflow_id, status, provider_charge_id FROM payments',
  );
  const byStatus = (s: string) => payments.rows.filter((p) => p.status === s);
  report('payment not terminal', byStatus('pending').map((p) => p.workflow_id));
  const open = await runningCheckouts(deps.client);
  report('checkout workflow still running', open);

  // 5. Temporal's record of each payment agrees with its row: a completed checkout's PaymentStatus
  //    search attribute is the row's status (a workflow that ended another way than its row says,
  //    such as a workflow task re-run after a crash taking another path, shows here)
  const rowStatus = new Map(payments.rows.map((p) => [p.workflow_id, p.status]));
  const disagreeing: string[] = [];
  for await (const wf of deps.client.workflow.list({ query: `ExecutionStatus = "Completed" AND WorkflowType = "checkout"` })) {
    const status = wf.typedSearchAttributes.get(SEARCH_ATTRIBUTES.paymentStatus);
    const row = rowStatus.get(wf.workflowId);
    if (status !== undefined && row !== undefined && status !== row) disagreeing.push(`${wf.workflowId} workflow ${status}, row ${row}`);
  }
  report("checkout workflow's PaymentStatus not its payment row's status", disagreeing);

  // 4. counts agree: charges applied - refunded = completed payments = ledger charge postings
  //    less their reversals, and no charge is left standing without a completed payment (money
  //    taken, nothing recorded). A refunded payment posts its charge and the reversal together,
  //    so the ledger explains every charge a checkout made and nets a refunded one to zero.
  const postings = await deps.pool.query<{ workflow_id: string; step: string }>(
    `SELECT workflow_id, step FROM ledger_transactions WHERE step IN ('charge', 'refund')`,
  );
  const completed = new Set(byStatus('completed').map((p) => p.workflow_id));
  const refunded = new Set(byStatus('refunded').map((p) => p.workflow_id));
  const posted = new Set(postings.rows.filter((r) => r.step === 'charge').map((r) => r.workflow_id));
  const reversed = new Set(postings.rows.filter((r) => r.step === 'refund').map((r) => r.workflow_id));
  const standingPosted = new Set([...posted].filter((wf) => !reversed.has(wf)));
  const standing = charges.filter((c) => !c.refunded && c.idempotency_key.endsWith(':charge'));
  report(
    'provider charge standing without a completed payment',
    standing.map((c) => c.idempotency_key.replace(/:charge$/, '')).filter((wf) => !completed.has(wf)),
  );
  report('completed payment without a ledger posting', [...completed].filter((wf) => !standingPosted.has(wf)));
  report('ledger posting without a completed payment', [...standingPosted].filter((wf) => !completed.has(wf)));
  report('refunded payment without its charge and reversal postings', [...refunded].filter((wf) => !(posted.has(wf) && reversed.has(wf))));
  report('ledger reversal without a refunded payment', [...reversed].filter((wf) => !refunded.has(wf)));
  const refundedAtProvider = new Set(charges.filter((c) => c.refunded).map((c) => c.idempotency_key.replace(/:charge$/, '')));
  report('refunded payment whose provider charge is not refunded', [...refunded].filter((wf) => !refundedAtProvider.has(wf)));
  const counts = {
    chargesApplied: charges.length,
    chargesRefunded: charges.filter((c) => c.refunded).length,
    completedPayments: completed.size,
    refundedPayments: refunded.size,
    failedPayments: byStatus('failed').length,
    pendingPayments: byStatus('pending').length,
    ledgerChargePostings: posted.size,
    ledgerRefundPostings: reversed.size,
    openWorkflows: open.length,
  };
  const netPostings = counts.ledgerChargePostings - counts.ledgerRefundPostings;
  if (!(counts.chargesApplied - counts.chargesRefunded === counts.completedPayments && counts.completedPayments === netPostings)) {
    violations.push(
      `counts disagree: stub charges ${counts.chargesApplied} - refunded ${counts.chargesRefunded} vs completed payments ${counts.completedPayments} ` +
        `vs ledger postings ${counts.ledgerChargePostings} - reversals ${counts.ledgerRefundPostings}`,
    );
  }
  return { ok: violations.length === 0, violations, counts };
}

export function formatCounts(c: InvariantReport['counts']): string {
  return (
    `charges ${c.chargesApplied}, refunded ${c.chargesRefunded}, completed ${c.completedPayments}, ledger postings ${c.ledgerChargePostings}, reversals ${c.ledgerRefundPostings}, ` +
    `failed ${c.failedPayments}, refunded payments ${c.refundedPayments}, pending ${c.pendingPayments}, open workflows ${c.openWorkflows}`
  );
}

/** The last line of every drill and of check-invariants. */
export function invariantLine(r: InvariantReport): string {
  return r.ok ? `invariants: ok (${formatCounts(r.counts)})` : `invariants: BROKEN (${r.violations.join('; ')})`;
}
