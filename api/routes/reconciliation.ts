// GET /reconciliation/runs: the most recent reconciliation runs, newest first,
// each with its window, counts and the mismatches it recorded. Read-only, and
// an operator route: runs span every merchant, so admin keys only.
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { recentRuns } from '../../db/reconciliation-store';
import type { Pool } from '../../db/pool';
import { HttpError } from '../../errors';
import { requireAdmin } from '../auth/authenticate';

const BAD_LIMIT = { error: 'limit must be an integer from 1 to 100' };

/**
 * The query, as api/openapi documents it: `limit` as Number() reads it (" 7 "
 * is 7), default 20; a schedule_id that is not one string is ignored.
 */
export const reconciliationRunsQuerySchema = z.object({
  limit: z.coerce.number(BAD_LIMIT).int(BAD_LIMIT).min(1, BAD_LIMIT).max(100, BAD_LIMIT).default(20),
  schedule_id: z.string().optional().catch(undefined),
});

export function reconciliationRoutes(deps: { pool: Pool }): Router {
  const router = Router();

  router.get('/reconciliation/runs', requireAdmin, async (req: Request, res: Response) => {
    const query = reconciliationRunsQuerySchema.safeParse(req.query);
    if (!query.success) throw new HttpError(400, 'invalid_request', query.error.issues[0]?.message ?? BAD_LIMIT.error, 'limit');
    const runs = await recentRuns(deps.pool, query.data.limit, query.data.schedule_id || undefined);
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
