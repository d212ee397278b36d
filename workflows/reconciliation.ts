// The reconciliation workflow: one run per Schedule tick. The Schedule names
// each run `<scheduleId>-<scheduled time>`, so a tick's run is visible by its
// workflow ID and its run row is keyed by it. Deterministic orchestration only.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { ReconciliationActivities } from '../activities/reconciliation/activities';
import { FailureType } from '../errors';
import { RECONCILIATION_RETRY } from '../domain/retry-policies';
import type { ReconciliationInput, ReconciliationSummary } from '../domain/reconciliation';

// Set by the Temporal server on every workflow a Schedule starts.
const SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

// Listing the provider and querying the ledger: each HTTP call has its own
// timeout (RECONCILIATION_HTTP_TIMEOUT_MS); the whole step gets 2 min per
// attempt, retried a bounded number of times with full jitter (the activity
// sets nextRetryDelay).
const acts = proxyActivities<ReconciliationActivities>({
  startToCloseTimeout: 2 * 60 * 1000,
  retry: {
    initialInterval: RECONCILIATION_RETRY.initialIntervalMs,
    backoffCoefficient: 2,
    maximumInterval: RECONCILIATION_RETRY.maximumIntervalMs,
    maximumAttempts: RECONCILIATION_RETRY.maximumAttempts,
    nonRetryableErrorTypes: [FailureType.InvalidRequest],
  },
});

export async function reconciliation(input: ReconciliationInput): Promise<ReconciliationSummary> {
  const scheduledAt = workflowInfo().typedSearchAttributes.get(SCHEDULED_START_TIME);
  const window = await acts.beginReconciliationRun({ ...input, scheduledAt: scheduledAt?.toISOString() ?? null });
  const summary = await acts.reconcileWindow(window);
  log.info('reconciliation run finished', { ...summary });
  return summary;
}
