// Removes payment rows the api reserved but never got a workflow for: the start
// failed (Temporal down or slow, the api answered 503) and the client never came
// back with the same key. Without this such a row stays pending for ever.
//
// A row whose workflow may have charged is never removed, whatever Temporal
// says. Temporal's answer alone cannot tell: once a closed workflow's retention
// ends, describe() says "not found" exactly as for a workflow never started, and
// a checkout whose recording failed left its row pending with the money taken.
// So the row itself says whether money may have moved: the charge activity
// stamps charge_attempted_at before its first provider call and refuses to call
// if the row is gone (db/payments.ts, markChargeAttempt), and both queries here
// skip stamped rows (db/orphans.ts). We mark the charge attempt rather than
// "the workflow started" because it is written by the only code that can
// charge, before it can charge, in the same database as the delete: the api can
// crash or time out between a successful start and writing a "started" mark,
// and a row-level race between the stamp and the delete has exactly one winner.
// A stamped row left pending is a person's case (reconciliation reports the
// charge if it stands), never the sweeper's.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { deleteOrphanPayment, findStalePendingPayments } from '../db/orphans';
import type { Pool } from '../db/pool';
import type { Logger } from '../logger';

export interface OrphanSweeperDeps {
  client: Client;
  pool: Pool;
  logger: Logger;
  /** a pending row untouched this long with no workflow is an orphan; far above the api budget */
  staleAfterMs: number;
  /** rows looked at per sweep */
  batchSize?: number;
}

export interface SweepResult {
  checked: number;
  deleted: string[];
}

const DESCRIBE_TIMEOUT_MS = 5_000;

/** One pass: every stale pending row with no charge attempted whose workflow Temporal has never heard of is deleted. */
export async function sweepOrphanPayments(deps: OrphanSweeperDeps): Promise<SweepResult> {
  const stale = await findStalePendingPayments(deps.pool, deps.staleAfterMs, deps.batchSize ?? 100);
  const deleted: string[] = [];
  for (const row of stale) {
    try {
      // a deadline bounds the call's retries too (api/temporal-connection.ts)
      await deps.client.withDeadline(Date.now() + DESCRIBE_TIMEOUT_MS, () => deps.client.workflow.getHandle(row.workflow_id).describe());
      continue; // it has a workflow (running, or closed and about to record): not ours to touch
    } catch (err) {
      // any other error (Temporal unreachable) says nothing about the workflow: leave the row
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    // the delete re-checks staleness, so a client retry that started the workflow meanwhile keeps its row
    if (await deleteOrphanPayment(deps.pool, row.payment_id, deps.staleAfterMs)) {
      deps.logger.warn(
        { paymentId: row.payment_id, idempotencyKey: row.idempotency_key, createdAt: row.created_at },
        'deleted a pending payment whose workflow never started (the client was answered 503 and did not retry)',
      );
      deleted.push(row.payment_id);
    }
  }
  return { checked: stale.length, deleted };
}

/** Sweeps every intervalMs until stopped; a failed sweep is logged and tried again next time. */
export function startOrphanSweeper(deps: OrphanSweeperDeps, intervalMs: number): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOrphanPayments(deps)
      .catch((err: unknown) => deps.logger.warn({ err: (err as Error).message }, 'orphan payment sweep failed; will retry'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
