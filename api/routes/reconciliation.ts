// GET /reconciliation/runs: the most recent reconciliation runs, newest first,
// each with its window, counts and the mismatches it recorded. Read-only, and
// an operator route: runs span every merchant, so admin keys only.
import { Router, type Request, type Response } from 'express';
import { recentRuns } from '../../db/reconciliation-store';
import type { Pool } from '../../db/pool';
import { HttpError } from '../../errors';
import { requireAdmin } from '../auth/authenticate';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

export function reconciliationRoutes(deps: { pool: Pool }): Router {
  const router = Router();

  router.get('/reconciliation/runs', requireAdmin, async (req: Request, res: Response) => {
    const limit = parseLimit(req.query.limit);
    const scheduleId = typeof req.query.schedule_id === 'string' && req.query.schedule_id !== '' ? req.query.schedule_id : undefined;
    const runs = await recentRuns(deps.pool, limit, scheduleId);
    res.json({
      data: runs.map((run) => ({
        run_id: run.run_id,
        schedule_id: run.schedule_id,
        scheduled_at: run.scheduled_at?.toISOString() ?? null,
        window: { since: run.window_since.toISOString(), until: run.window_until.toISOString() },
        started_at: run.started_at.toISOString(),
        finished_at: run.finished_at?.toISOString() ?? null,
        charges_checked: run.charges_checked,
        postings_checked: run.postings_checked,
        mismatches_found: run.mismatches_found,
        mismatches: run.mismatches.map((m) => ({
          kind: m.kind,
          provider_charge_id: m.provider_charge_id,
          workflow_id: m.workflow_id,
          merchant_id: m.merchant_id,
          idempotency_key: m.idempotency_key,
          provider_amount_cents: m.provider_amount_cents,
          ledger_amount_cents: m.ledger_amount_cents,
          currency: m.currency,
          found_at: m.found_at.toISOString(),
        })),
      })),
    });
  });

  return router;
}

function parseLimit(raw: unknown): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const limit = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new HttpError(400, 'invalid_request', `limit must be an integer from 1 to ${MAX_LIMIT}`, 'limit');
  }
  return limit;
}
