// Reconciliation's activities: the provider's charges and refunds in a window
// against the ledger's charge postings. Idempotent: the run row is keyed by the
// tick's workflow ID and each finding by (kind, charge), so a retried activity
// writes the same window and records nothing twice.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { beginRun, finishRun, postingsFor, postingsInWindow, recordMismatches } from '../../db/reconciliation-store';
import type { Pool } from '../../db/pool';
import { FailureType } from '../../errors';
import type { Logger } from '../../logger';
import { RECONCILIATION_RETRY } from '../../domain/retry-policies';
import type { MismatchKind, ReconciliationInput, ReconciliationSummary, ReconciliationWindow } from '../../domain/reconciliation';
import { ProviderCallError } from '../../errors';
import {
  compareChargesWithPostings,
  workflowIdOfChargeKey,
  type LedgerChargePosting,
  type ProviderChargeRecord,
} from '../../domain/reconciliation-compare';
import type { ProviderListings } from './provider-listings';
import { fullJitterDelayMs } from '../retry-delay';

export interface ReconciliationActivityDeps {
  pool: Pool;
  listings: ProviderListings;
  logger: Logger;
  config: { httpTimeoutMs: number };
  /** Called once per newly recorded finding (the worker counts them in a metric). */
  onMismatch?: (kind: MismatchKind) => void;
}

// charges looked up one by one (older than the window) at most this many at a time
const LOOKUP_CONCURRENCY = 8;

export function createReconciliationActivities({ pool, listings, logger, config, onMismatch }: ReconciliationActivityDeps) {
  function activityLogger(): Logger {
    const info = Context.current().info;
    return logger.child({ workflowId: info.workflowExecution?.workflowId, activity: info.activityType, attempt: info.attempt });
  }

  return {
    /** Writes this tick's run and window (or finds the one an earlier attempt wrote). */
    async beginReconciliationRun(input: ReconciliationInput & { scheduledAt: string | null }): Promise<ReconciliationWindow> {
      const runId = Context.current().info.workflowExecution?.workflowId;
      if (!runId) throw ApplicationFailure.nonRetryable('reconciliation runs only inside a workflow', FailureType.InvalidRequest);
      const scheduledAt = input.scheduledAt ? new Date(input.scheduledAt) : null;
      const until = new Date((scheduledAt ?? new Date()).getTime() - input.settleMs);
      try {
        const window = await beginRun(pool, {
          runId,
          scheduleId: input.scheduleId,
          scheduledAt,
          until,
          intervalMs: input.intervalMs,
          overlapMs: input.overlapMs,
        });
        activityLogger().info({ since: window.since, until: window.until }, 'reconciliation run begun');
        return window;
      } catch (err) {
        throw jitteredFailure(err, activityLogger());
      }
    },

    /** Compares the window, records new findings and finishes the run. */
    async reconcileWindow(window: ReconciliationWindow): Promise<ReconciliationSummary> {
      const signal = Context.current().cancellationSignal;
      const log = activityLogger();
      const timeoutMs = config.httpTimeoutMs;
      try {
        const since = new Date(window.since);
        const until = new Date(window.until);
        // The provider's times are whole seconds. A charge counts once its whole
        // second is before `until` (so it has had the settle time); the second
        // `since` falls in is included, so a boundary second is checked twice
        // rather than never.
        const sinceSeconds = Math.floor(since.getTime() / 1000);
        const settled = (createdSeconds: number) => (createdSeconds + 1) * 1000 <= until.getTime();
        const charges = new Map<string, ProviderChargeRecord>();
        for (const c of await listings.charges(sinceSeconds, timeoutMs, signal)) {
          if (settled(c.created)) charges.set(c.id, c);
        }
        // a refund in the window changes what an older charge nets to
        const refunds = (await listings.refunds(sinceSeconds, timeoutMs, signal)).filter((r) => settled(r.created));
        await lookUpCharges(
          refunds.map((r) => r.charge_id).filter((id) => !charges.has(id)),
          (id) => listings.charge(id, timeoutMs, signal),
          charges,
        );

        const chargeList = [...charges.values()];
        const workflowIds = chargeList.map((c) => workflowIdOfChargeKey(c.idempotency_key)).filter((id): id is string => id !== null);
        const postings = new Map<string, LedgerChargePosting>();
        for (const p of await postingsFor(pool, [...charges.keys()], workflowIds)) postings.set(p.workflow_id, p);
        const windowPostings = await postingsInWindow(pool, since, until);
        for (const p of windowPostings) postings.set(p.workflow_id, p);
        // postings in the window whose charge is older than the window
        await lookUpCharges(
          windowPostings.map((p) => p.provider_charge_id).filter((id): id is string => id !== null && !charges.has(id)),
          (id) => listings.charge(id, timeoutMs, signal),
          charges,
        );

        const mismatches = compareChargesWithPostings([...charges.values()], [...postings.values()]);
        const recorded = await recordMismatches(pool, window.runId, mismatches);
        for (const kind of recorded) onMismatch?.(kind);
        const counts = { chargesChecked: charges.size, postingsChecked: postings.size };
        const { mismatchesFound } = await finishRun(pool, window.runId, counts);
        const summary = { ...window, ...counts, mismatchesFound };
        if (recorded.length > 0) log.warn({ ...summary, newFindings: recorded }, 'reconciliation found mismatches');
        else log.info(summary, 'reconciliation run finished');
        return summary;
      } catch (err) {
        throw jitteredFailure(err, log);
      }
    },
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;

/** Looks charges up by id, a few at a time, adding those the provider has to `into`. */
async function lookUpCharges(
  ids: string[],
  lookUp: (id: string) => Promise<ProviderChargeRecord | undefined>,
  into: Map<string, ProviderChargeRecord>,
): Promise<void> {
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += LOOKUP_CONCURRENCY) {
    const found = await Promise.all(unique.slice(i, i + LOOKUP_CONCURRENCY).map(lookUp));
    for (const charge of found) if (charge) into.set(charge.id, charge);
  }
}

/**
 * Any failure as a Temporal failure: a refusal on purpose (4xx) is final;
 * everything else (provider down, Postgres unreachable) is retried after a
 * full-jitter delay, since Temporal's own policy has none.
 */
function jitteredFailure(err: unknown, log: Logger): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ProviderCallError && !err.retryable) {
    return ApplicationFailure.nonRetryable(err.message, FailureType.InvalidRequest, { status: err.status });
  }
  const delayMs = fullJitterDelayMs(Context.current().info.attempt, RECONCILIATION_RETRY);
  const message = (err as Error | undefined)?.message ?? String(err);
  log.warn({ err: message, nextRetryDelayMs: delayMs }, 'reconciliation step failed; will retry');
  return ApplicationFailure.create({
    message,
    type: err instanceof ProviderCallError ? FailureType.ProviderUnavailable : 'ReconciliationStepFailed',
    nextRetryDelay: delayMs,
    cause: err instanceof Error ? err : undefined,
  });
}
